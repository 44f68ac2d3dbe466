#!/usr/bin/env python3
"""Reads ESC/POS bytes (a file, or stdin) and prints what the paper shows, as JSON.

Written from the ESC/POS command reference, independently of fieldgate's Print module, so a
mistake shared by its encoder and decoder cannot pass the tests. Standard library only. Any
command outside the set below, a command cut short, or text that is not GB18030 (in Chinese
mode; ASCII outside it) is an error: exit status 1 and the byte offset on stderr.

  ESC @           initialise: modes back to their defaults
  FS & / FS .     Chinese (double-byte) character mode on / off
  ESC E n         emphasis on when bit 0 of n is set
  GS ! n          size: bits 0-2 height magnification - 1, bits 4-6 width magnification - 1
  ESC a n         justification: 0/48 left, 1/49 centre, 2/50 right
  ESC d n         print and feed n lines
  LF              print and feed one line
  GS ( k pL pH cn fn ...   2D symbol functions; cn 49 is QR Code:
                  fn 65 model (n1 49/50/51 = 1/2/micro, n2 0), fn 67 module size,
                  fn 69 error correction (48-51 = L/M/Q/H), fn 80 store data (m 48),
                  fn 81 print the stored symbol (m 48)
  GS V m [n]      cut: m 0/48 full, 1/49 partial; m 65 full and 66 partial after feeding n
"""
import json
import sys

ESC, FS, GS, LF = 0x1B, 0x1C, 0x1D, 0x0A


class Undecodable(Exception):
    pass


def decode(data):
    out = {"initialisedFirst": data[:2] == b"\x1b@", "lines": [], "qrCodes": [], "cuts": [], "events": []}
    state = {}

    def reset():
        state.update(chinese=False, bold=False, height=1, width=1, align="left")

    reset()
    pending = bytearray()
    stored_qr = {"model": None, "moduleSize": None, "errorCorrection": None, "data": None}
    i = 0

    def need(count):
        if i + count > len(data):
            raise Undecodable(f"offset {i}: command cut short")

    def flush(start):
        nonlocal pending
        raw = bytes(pending)
        try:
            text = raw.decode("gb18030") if state["chinese"] else raw.decode("ascii")
        except UnicodeDecodeError as error:
            raise Undecodable(f"offset {start}: text is not {'GB18030' if state['chinese'] else 'ASCII'}: {error}")
        out["lines"].append({"text": text, "bold": state["bold"], "height": state["height"], "width": state["width"],
                             "align": state["align"]})
        out["events"].append({"line": text})
        pending = bytearray()

    while i < len(data):
        byte = data[i]
        if byte == LF:
            flush(i)
            i += 1
        elif byte == ESC:
            need(2)
            command = data[i + 1]
            if command == 0x40:
                reset()
                out["events"].append({"initialise": True})
                i += 2
            elif command == 0x45:
                need(3)
                state["bold"] = bool(data[i + 2] & 1)
                i += 3
            elif command == 0x61:
                need(3)
                n = data[i + 2]
                aligns = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}
                if n not in aligns:
                    raise Undecodable(f"offset {i}: ESC a {n}")
                state["align"] = aligns[n]
                i += 3
            elif command == 0x64:
                need(3)
                if pending:
                    flush(i)
                for _ in range(data[i + 2]):
                    flush(i)
                i += 3
            else:
                raise Undecodable(f"offset {i}: unexpected ESC 0x{command:02x}")
        elif byte == FS:
            need(2)
            command = data[i + 1]
            if command == 0x26:
                state["chinese"] = True
            elif command == 0x2E:
                state["chinese"] = False
            else:
                raise Undecodable(f"offset {i}: unexpected FS 0x{command:02x}")
            out["events"].append({"chinese": state["chinese"]})
            i += 2
        elif byte == GS:
            need(2)
            command = data[i + 1]
            if command == 0x21:
                need(3)
                n = data[i + 2]
                state["height"] = (n & 0x07) + 1
                state["width"] = ((n >> 4) & 0x07) + 1
                i += 3
            elif command == 0x28:
                need(5)
                if data[i + 2] != 0x6B:
                    raise Undecodable(f"offset {i}: GS ( 0x{data[i + 2]:02x} is not GS ( k")
                length = data[i + 3] | data[i + 4] << 8
                need(5 + length)
                body = data[i + 5:i + 5 + length]
                if len(body) < 2 or body[0] != 49:
                    raise Undecodable(f"offset {i}: GS ( k for a symbol other than QR Code")
                function = body[1]
                if function == 65:
                    if len(body) != 4 or body[2] not in (49, 50, 51) or body[3] != 0:
                        raise Undecodable(f"offset {i}: bad QR model")
                    stored_qr["model"] = {49: 1, 50: 2, 51: "micro"}[body[2]]
                elif function == 67:
                    if len(body) != 3 or not 1 <= body[2] <= 16:
                        raise Undecodable(f"offset {i}: bad QR module size")
                    stored_qr["moduleSize"] = body[2]
                elif function == 69:
                    if len(body) != 3 or body[2] not in (48, 49, 50, 51):
                        raise Undecodable(f"offset {i}: bad QR error correction")
                    stored_qr["errorCorrection"] = "LMQH"[body[2] - 48]
                elif function == 80:
                    if len(body) < 4 or body[2] != 48:
                        raise Undecodable(f"offset {i}: bad QR data")
                    stored_qr["data"] = bytes(body[3:]).decode("utf-8")
                elif function == 81:
                    if len(body) != 3 or body[2] != 48:
                        raise Undecodable(f"offset {i}: bad QR print")
                    if stored_qr["data"] is None:
                        raise Undecodable(f"offset {i}: QR code printed before its data was stored")
                    if pending:
                        flush(i)
                    out["qrCodes"].append(dict(stored_qr))
                    out["events"].append({"qr": stored_qr["data"]})
                else:
                    raise Undecodable(f"offset {i}: QR function {function}")
                i += 5 + length
            elif command == 0x56:
                need(3)
                m = data[i + 2]
                if m in (0, 48, 1, 49):
                    cut = {"partial": m in (1, 49), "feed": 0}
                    i += 3
                elif m in (65, 66):
                    need(4)
                    cut = {"partial": m == 66, "feed": data[i + 3]}
                    i += 4
                else:
                    raise Undecodable(f"offset {i}: GS V {m}")
                if pending:
                    flush(i)
                out["cuts"].append(cut)
                out["events"].append({"cut": cut})
            else:
                raise Undecodable(f"offset {i}: unexpected GS 0x{command:02x}")
        elif byte < 0x20:
            raise Undecodable(f"offset {i}: unexpected control byte 0x{byte:02x}")
        else:
            pending.append(byte)
            i += 1
    if pending:
        raise Undecodable(f"offset {i}: text after the last line feed is never printed")
    out["chineseModeAtEnd"] = state["chinese"]
    return out


def main():
    data = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else sys.stdin.buffer.read()
    try:
        print(json.dumps(decode(data), ensure_ascii=False))
    except Undecodable as error:
        print(f"undecodable ESC/POS: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
