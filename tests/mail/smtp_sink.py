"""An SMTP server for tests (aiosmtpd): accepts every message on 127.0.0.1:<port> and appends
one JSON line per message to <out>, flushed and synced before the server answers 250, so a
message the sender saw accepted is on disk.

    smtp_sink.py <port> <out.jsonl> [--fail-first N]

--fail-first N answers the first N messages with 451 (a temporary failure: the sender retries).
--reject TEXT answers 550 to recipients that contain TEXT (a permanent refusal).
--delay MS takes MS milliseconds over each message before accepting it (a slow server: a
sender killed meanwhile never sees the 250, though the message arrived).
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, fail_first, reject, delay):
        self.delay = delay
        self.out = out
        self.fail_left = fail_first
        self.reject = reject

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay / 1000)
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 Try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = []
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "starts": payload[:5].decode("latin-1"),
                }
            )
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": msg["Message-ID"],
            "from": msg["From"],
            "to": msg["To"],
            "reply_to": msg["Reply-To"],
            "subject": msg["Subject"],
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "attachments": attachments,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("out")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--reject", default="")
    p.add_argument("--delay", type=int, default=0)
    a = p.parse_args()
    sink = Sink(a.out, a.fail_first, a.reject, a.delay)
    controller = Controller(sink, hostname="127.0.0.1", port=a.port)
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
