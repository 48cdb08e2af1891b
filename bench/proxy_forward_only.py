"""The proxy with its checks switched off: the control that splits forwarding from checking.

    python bench/proxy_forward_only.py PORT UPSTREAM   # serves until SIGTERM

Not a user-facing mode (a proxy that checks nothing is just a proxy): only
``bench/proxy_latency.py`` starts it, to show what the forwarding alone adds.
"""

from __future__ import annotations

import sys

from mockserver.proxy.app import ProxyOptions, create_proxy_app
from mockserver.proxy.cli import run_app
from mockserver.proxy.exchange import Exchange
from mockserver.proxy.monitor import Monitor
from mockserver.server import listen
from mockserver.settings import Settings


class _Discard(Monitor):
    def submit(self, exchange: Exchange) -> None:
        """Forwarded, never checked."""


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    options = ProxyOptions(upstream)
    app = create_proxy_app(options, _Discard(options.monitor_options()))
    settings = Settings(host="127.0.0.1", port=port)
    run_app(app, settings, listen(settings))


if __name__ == "__main__":
    main()
