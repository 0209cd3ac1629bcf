"""The token code in docs/integrating.md makes tokens the game servers accept."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from Crypto.Cipher import AES

from game_server import tokens

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"


def python_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    [block] = [block for block in blocks if containing in block]
    return block


def test_the_token_snippet_issues_tokens_the_servers_accept(monkeypatch):
    keys = tokens.generate_keyring_entry(5)
    monkeypatch.setenv("GAME_TOKEN_KEYS", keys)
    namespace: dict = {}
    exec(python_block("from game_server.tokens import"), namespace)
    assert tokens.read_token(tokens.parse_keys(keys), namespace["game_token"](7)) == 7


class _AESGCM:
    """`cryptography`'s AESGCM (encrypt returns ciphertext + 16-byte tag), on pycryptodome,
    for machines without `cryptography`."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        cipher = AES.new(self.key, AES.MODE_GCM, nonce=nonce, mac_len=16)
        cipher.update(associated_data)
        ciphertext, tag = cipher.encrypt_and_digest(data)
        return ciphertext + tag


def test_the_standalone_snippet_follows_the_token_format(monkeypatch):
    aead = types.ModuleType("cryptography.hazmat.primitives.ciphers.aead")
    aead.AESGCM = _AESGCM
    for name in ("cryptography", "cryptography.hazmat", "cryptography.hazmat.primitives",
                 "cryptography.hazmat.primitives.ciphers"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, aead.__name__, aead)
    # Both base64 alphabets, padded or not, as GAME_TOKEN_KEYS allows.
    for keys in (tokens.generate_keyring_entry(9) + ",1:" + tokens.generate_key(),
                 "3:" + tokens.generate_key().replace("-", "+").replace("_", "/") + "="):
        monkeypatch.setenv("GAME_TOKEN_KEYS", keys)
        namespace: dict = {}
        exec(python_block("AESGCM"), namespace)
        assert tokens.read_token(tokens.parse_keys(keys), namespace["game_token"](42)) == 42
