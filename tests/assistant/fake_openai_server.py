"""A test fake of an OpenAI-compatible server (honest about being one): echoes the last user
message. Used to test process supervision without loading a model. Run: python fake_openai_server.py PORT"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _json(self, data, status=200):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/models":
            self._json({"data": [{"id": "fake"}]})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = "回声：" + request["messages"][-1]["content"]
        if not request.get("stream"):
            self._json({"choices": [{"message": {"content": text}}], "usage": {"prompt_tokens": 3, "completion_tokens": len(text)}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for char in text:
            self.wfile.write(f"data: {json.dumps({'choices': [{'delta': {'content': char}}]})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
