#!/usr/bin/env python3
"""Fixed-latency fakes for the benchmarks: an OpenAI-compatible model and
Chatwoot's REST API, answering with the fixtures' exact bodies.

  fake_upstreams.py PORT MODEL_MS OTHER_MS FIXTURES_DIR

asyncio, so a thousand requests wait concurrently without threads."""
import asyncio, json, sys

port, model_ms, other_ms, fixtures = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
final = open(f"{fixtures}/openai/chat-completion-final.json", "rb").read()
reply = open(f"{fixtures}/chatwoot/reply_create_message_response.json", "rb").read()
counts = {"llm": 0, "chatwoot": 0}

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for l in lines[1:]:
                if l.lower().startswith("content-length:"):
                    length = int(l.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            if path.startswith("/v1/chat/completions"):
                counts["llm"] += 1
                await asyncio.sleep(model_ms / 1000)
                body = final
            elif path == "/counts":
                body = json.dumps(counts).encode()
            else:
                counts["chatwoot"] += 1
                await asyncio.sleep(other_ms / 1000)
                body = reply
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, ValueError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main())
