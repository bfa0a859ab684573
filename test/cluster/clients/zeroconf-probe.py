"""python-zeroconf (Debian's python3-zeroconf), a client no one here wrote, looks for arozdfs.

Run inside the test's network namespace: enumerates service types (RFC 6763 section 9) until
_arozdfs._tcp shows up, browses the type until an instance appears, resolves it, and prints one
JSON line with what it found. Every wait has a deadline (argv[1] seconds); nothing sleeps as a
way to synchronise.
"""
import json
import sys
import threading
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf, ZeroconfServiceTypes

SERVICE = "_arozdfs._tcp.local."
deadline = time.monotonic() + float(sys.argv[1])
out = {"types": [], "instances": [], "info": None}

# Enumeration: each call listens for a while; repeat until the type is listed or time is up.
while time.monotonic() < deadline:
    out["types"] = sorted(ZeroconfServiceTypes.find(interfaces=["127.0.0.1"], timeout=2))
    if SERVICE in out["types"]:
        break

zc = Zeroconf(interfaces=["127.0.0.1"])
try:
    found = threading.Event()

    class Listener(ServiceListener):
        def add_service(self, zc, type_, name):
            out["instances"].append(name)
            found.set()

        def update_service(self, zc, type_, name):
            pass

        def remove_service(self, zc, type_, name):
            pass

    browser = ServiceBrowser(zc, SERVICE, Listener())
    found.wait(max(0.0, deadline - time.monotonic()))
    browser.cancel()
    if out["instances"]:
        left_ms = int(max(1.0, deadline - time.monotonic()) * 1000)
        info = zc.get_service_info(SERVICE, out["instances"][0], timeout=left_ms)
        if info is not None:
            out["info"] = {
                "name": info.name,
                "port": info.port,
                "server": info.server,
                "addresses": info.parsed_addresses(),
                "properties": {
                    k.decode(): (v.decode() if v is not None else None)
                    for k, v in info.properties.items()
                },
            }
finally:
    zc.close()
print(json.dumps(out))
