"""The web's own protections: the client address behind trusted proxies and the security headers.
Passwords and tokens are the staff service's (`services/credentials.py`), the rate limiter is
`services/rate_limit.py`."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


Network = IPv4Network | IPv6Network


def forwarded_client(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client behind trusted proxies: X-Forwarded-For read right to left (each proxy appends
    the address it got the request from), skipping hops inside `trusted`; the first one outside
    is the client. Hops left of it were written by the client and are never believed, nor is the
    header at all when the peer itself is not a trusted proxy."""
    if not in_networks(peer, trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if not hop:
            continue
        client = hop
        if not in_networks(hop, trusted):
            break
    return client


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False  # "unknown", a hostname, garbage: not a proxy of ours
    return any(ip in net for net in networks)
