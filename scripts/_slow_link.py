"""A slow link between two network interfaces, for the hosts harness (scripts/_hosts.ts).

Usage: _slow_link.py <if-a> <if-b> <delay-ms> <jitter-ms> <loss 0..1>

Every frame arriving on one interface leaves on the other after delay +- jitter (uniform), unless it is
dropped (a `loss` share). This is what `tc qdisc add ... netem delay D J loss L` does in both directions,
for kernels built without netem. Exits when either interface goes away or its parent process dies.
"""
import array
import heapq
import os
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def ones_complement(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(array.array("H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF).to_bytes(2, sys.byteorder)


def with_checksum(frame):
    """Fills in the TCP or UDP checksum of an IPv4 frame: senders on a veth leave it to the hardware."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    protocol = frame[23]
    total = int.from_bytes(frame[16:18], "big")
    start, end = 14 + ihl, 14 + total
    offset = {6: 16, 17: 6}.get(protocol)
    if offset is None or end > len(frame) or end - start < offset + 2:
        return frame
    segment = bytearray(frame[start:end])
    segment[offset:offset + 2] = b"\0\0"
    pseudo = frame[26:34] + bytes([0, protocol]) + (end - start).to_bytes(2, "big")
    checksum = ones_complement(pseudo + bytes(segment))
    if protocol == 17 and checksum == b"\0\0":
        checksum = b"\xff\xff"
    segment[offset:offset + 2] = checksum
    return frame[:start] + bytes(segment) + frame[end:]


def open_raw(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main(argv):
    a, b = open_raw(argv[1]), open_raw(argv[2])
    delay, jitter, loss = float(argv[3]) / 1000, float(argv[4]) / 1000, float(argv[5])
    other = {a: b, b: a}
    parent = os.getppid()
    queue = []  # (due, sequence, socket, frame)
    sequence = 0
    print("ready", flush=True)
    while os.getppid() == parent:
        timeout = 0.5 if not queue else max(0.0, min(0.5, queue[0][0] - time.monotonic()))
        readable, _, _ = select.select([a, b], [], [], timeout)
        for s in readable:
            while True:
                try:
                    frame, address = s.recvfrom(65536)
                except BlockingIOError:
                    break
                # A packet socket also sees the frames it sent itself.
                if address[2] == PACKET_OUTGOING or random.random() < loss:
                    continue
                sequence += 1
                due = time.monotonic() + delay + random.uniform(-jitter, jitter)
                heapq.heappush(queue, (due, sequence, other[s], with_checksum(frame)))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, s, frame = heapq.heappop(queue)
            try:
                s.send(frame)
            except BlockingIOError:
                pass  # a full queue drops the frame, as a congested link does


if __name__ == "__main__":
    try:
        main(sys.argv)
    except OSError:
        pass  # an interface went away: the link is gone
