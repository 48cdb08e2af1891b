"""The request path of a GoEvent operation as named steps, one module each:
authenticate → admit → read → call → check → journal. :mod:`.endpoint` runs them
top to bottom; read it first."""
