"""Tests of goevent-mock (a package, so test modules can import conftest helpers)."""
