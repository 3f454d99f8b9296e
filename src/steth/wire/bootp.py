"""BOOTP/DHCP messages (RFC 2131): the fixed part and the options, as the DHCP trace reads them.

Split from frames.py (the link, network and transport layers and the tunnels), which hands this module
a UDP payload.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

DHCP_SERVER_PORT = 67
DHCP_CLIENT_PORT = 68
DHCP_MAGIC = b"\x63\x82\x53\x63"
DHCP_MESSAGE_TYPE = 53
DHCP_SERVER_ID = 54
BOOTP_LEN = 236  # fixed part of a BOOTP message, before the magic cookie


@dataclass(slots=True)
class Dhcp:
    op: int  # 1 request, 2 reply
    xid: int
    yiaddr: str
    chaddr: bytes  # the first 6 bytes of the client hardware address
    options: dict[int, bytes]  # first occurrence of each option

    @property
    def message_type(self) -> int | None:
        value = self.options.get(DHCP_MESSAGE_TYPE)
        return value[0] if value is not None and len(value) == 1 else None

    @property
    def server_id(self) -> str | None:
        value = self.options.get(DHCP_SERVER_ID)
        return socket.inet_ntoa(value) if value is not None and len(value) == 4 else None


def dhcp(data: bytes) -> Dhcp | None:
    """A BOOTP message with the DHCP magic cookie; options read up to END or the end of the data."""
    if len(data) < BOOTP_LEN + 4 or data[BOOTP_LEN : BOOTP_LEN + 4] != DHCP_MAGIC:
        return None
    options: dict[int, bytes] = {}
    opts = data[BOOTP_LEN + 4 :]
    i = 0
    while i < len(opts):
        code = opts[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        length = opts[i + 1]
        options.setdefault(code, opts[i + 2 : i + 2 + length])
        i += 2 + length
    xid = int.from_bytes(data[4:8], "big")
    return Dhcp(data[0], xid, socket.inet_ntoa(data[16:20]), data[28:34], options)
