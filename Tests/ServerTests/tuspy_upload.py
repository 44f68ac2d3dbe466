"""Uploads a file to fieldgate-server with tuspy, as a third-party tus client would.

Usage: tuspy_upload.py SERVER_URL CREDENTIAL FILE
"""
import hashlib
import sys

from tusclient import client


def main() -> int:
    server, credential, path = sys.argv[1:4]
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    tus = client.TusClient(server + "/v1/uploads", headers={"Authorization": "Bearer " + credential})
    uploader = tus.uploader(path, chunk_size=1024 * 1024, metadata={"sha256": digest, "filename": "recording.bin"},
                            upload_checksum=True)
    uploader.upload()
    print(uploader.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
