import json
import socket
import sys

from pynetdicom import AE, debug_logger  # noqa: F401


def make_ae(calling):
    ae = AE(ae_title=calling)
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 60
    return ae


def nodelay(assoc):
    try:
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception:
        pass


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect(host, port, calling, called, *contexts):
    """An established association with the given presentation contexts, or exit(1) after saying so."""
    ae = make_ae(calling)
    for context in contexts:
        ae.add_requested_context(context)
    assoc = ae.associate(host, port, ae_title=called)
    if not assoc.is_established:
        emit({"established": False})
        sys.exit(1)
    nodelay(assoc)
    return assoc
