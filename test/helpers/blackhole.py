# A loopback port that never completes a TCP connection: it listens with a backlog
# of 0 and fills that backlog itself, so the kernel drops further SYNs and a
# client's connect() hangs. Prints the port, then stays for argv[1] seconds.
import socket
import sys
import time

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]
fillers = []
for _ in range(4):
    client = socket.socket()
    client.setblocking(False)
    try:
        client.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fillers.append(client)
print(port, flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 10)
