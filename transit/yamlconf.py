"""YAML loading that remembers where every value came from.

Configuration, operator and scenario files are validated once at start-up. An error must name the file,
the line and the key path (``onboard.yaml:14: doors[1].pins: expected two GPIO numbers``), so we keep
PyYAML's node marks and wrap values in :class:`Node` while validating.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from transit.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()


class Node:
    """A YAML value plus its file, line and dotted key path."""

    __slots__ = ("value", "file", "line", "path", "_error")

    def __init__(self, value: Any, file: str, line: int, path: str,
                 error: type[ConfigError] = ConfigError) -> None:
        self.value = value
        self.file = file
        self.line = line
        self.path = path
        self._error = error

    # -- errors -------------------------------------------------------------------------------
    def error(self, message: str) -> ConfigError:
        """An error pointing at this value."""
        return self._error(message, file=self.file, line=self.line, key=self.path or "<root>")

    # -- structure ----------------------------------------------------------------------------
    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def keys(self) -> list[str]:
        if not isinstance(self.value, dict):
            raise self.error("expected a mapping")
        return list(self.value.keys())

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def child(self, key: str) -> Node:
        """The value under ``key``; an error naming the key when it is missing."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping with key '{key}'")
        if key not in self.value:
            raise self._error("missing required key", file=self.file, line=self.line,
                              key=self._child_path(key))
        raw = self.value[key]
        assert isinstance(raw, Node)
        return raw

    def opt(self, key: str) -> Node | None:
        if not isinstance(self.value, dict):
            raise self.error("expected a mapping")
        raw = self.value.get(key)
        if raw is None or (isinstance(raw, Node) and raw.value is None):
            return None
        assert isinstance(raw, Node)
        return raw

    def items(self) -> Iterator[tuple[str, Node]]:
        if not isinstance(self.value, dict):
            raise self.error("expected a mapping")
        yield from self.value.items()

    def as_list(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error("expected a list")
        return list(self.value)

    def reject_unknown(self, allowed: set[str] | frozenset[str]) -> None:
        """Unknown keys are usually typos; say which and where."""
        for k, v in self.items():
            if k not in allowed:
                raise v.error(f"unknown key (allowed: {', '.join(sorted(allowed))})")

    # -- scalars ------------------------------------------------------------------------------
    def plain(self) -> Any:
        """The value with all Node wrappers removed."""
        return _unwrap(self)

    def as_str(self) -> str:
        if not isinstance(self.value, str | int | float) or isinstance(self.value, bool):
            raise self.error(f"expected a string, got {_kind(self.value)}")
        return str(self.value)

    def as_int(self, *, min: int | None = None, max: int | None = None) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(f"expected a whole number, got {_kind(v)}")
        _check_range(self, v, min, max)
        return v

    def as_float(self, *, min: float | None = None, max: float | None = None) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(f"expected a number, got {_kind(v)}")
        if not math.isfinite(v):  # YAML's .nan/.inf: NaN would slip through every range check
            raise self.error(f"expected a finite number, got {v}")
        _check_range(self, float(v), min, max)
        return float(v)

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {_kind(self.value)}")
        return self.value

    def choice(self, options: list[str] | tuple[str, ...] | frozenset[str]) -> str:
        s = self.as_str()
        if s not in options:
            raise self.error(f"expected one of {', '.join(sorted(options))}, got '{s}'")
        return s

    def convert(self, fn: Callable[[Any], T], what: str) -> T:
        """Apply ``fn`` to the plain value; any ValueError becomes an error naming ``what``."""
        try:
            return fn(self.plain())
        except (ValueError, TypeError) as exc:
            raise self.error(f"expected {what} ({exc})") from None

    # -- typed getters with defaults ----------------------------------------------------------
    @overload
    def get_str(self, key: str) -> str: ...
    @overload
    def get_str(self, key: str, default: T) -> str | T: ...
    def get_str(self, key: str, default: Any = _MISSING) -> Any:
        n = self.opt(key)
        if n is None:
            if default is _MISSING:
                return self.child(key).as_str()
            return default
        return n.as_str()

    @overload
    def get_int(self, key: str, *, min: int | None = ..., max: int | None = ...) -> int: ...
    @overload
    def get_int(self, key: str, default: T, *, min: int | None = ..., max: int | None = ...) -> int | T: ...
    def get_int(self, key: str, default: Any = _MISSING, *, min: int | None = None,
                max: int | None = None) -> Any:
        n = self.opt(key)
        if n is None:
            if default is _MISSING:
                return self.child(key).as_int(min=min, max=max)
            return default
        return n.as_int(min=min, max=max)

    @overload
    def get_float(self, key: str, *, min: float | None = ..., max: float | None = ...) -> float: ...
    @overload
    def get_float(self, key: str, default: T, *, min: float | None = ...,
                  max: float | None = ...) -> float | T: ...
    def get_float(self, key: str, default: Any = _MISSING, *, min: float | None = None,
                  max: float | None = None) -> Any:
        n = self.opt(key)
        if n is None:
            if default is _MISSING:
                return self.child(key).as_float(min=min, max=max)
            return default
        return n.as_float(min=min, max=max)

    @overload
    def get_bool(self, key: str) -> bool: ...
    @overload
    def get_bool(self, key: str, default: T) -> bool | T: ...
    def get_bool(self, key: str, default: Any = _MISSING) -> Any:
        n = self.opt(key)
        if n is None:
            if default is _MISSING:
                return self.child(key).as_bool()
            return default
        return n.as_bool()

    def __repr__(self) -> str:
        return f"Node({self.path!r} @ {self.file}:{self.line} = {self.plain()!r})"


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {v}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return f"text '{v}'"
    return f"{type(v).__name__} {v!r}"


def _check_range(node: Node, v: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and v < lo:
        raise node.error(f"must be at least {lo}, got {v}")
    if hi is not None and v > hi:
        raise node.error(f"must be at most {hi}, got {v}")


def _unwrap(v: Any) -> Any:
    if isinstance(v, Node):
        return _unwrap(v.value)
    if isinstance(v, dict):
        return {k: _unwrap(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unwrap(x) for x in v]
    return v


def _build(node: yaml.Node, loader: yaml.SafeLoader, file: str, path: str,
           error: type[ConfigError]) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, str | int):
                raise error("mapping keys must be text", file=file, line=knode.start_mark.line + 1,
                            key=path or "<root>")
            skey = str(key)
            cpath = f"{path}.{skey}" if path else skey
            if skey in out:
                raise error("duplicate key", file=file, line=knode.start_mark.line + 1, key=cpath)
            out[skey] = _build(vnode, loader, file, cpath, error)
        return Node(out, file, line, path, error)
    if isinstance(node, yaml.SequenceNode):
        items = [_build(c, loader, file, f"{path}[{i}]", error) for i, c in enumerate(node.value)]
        return Node(items, file, line, path, error)
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML turns 2026-02-30 into a date and raises a plain ValueError; name the spot instead.
        raise error(f"cannot read value '{node.value}': {exc}", file=file, line=line,
                    key=path or "<root>") from None
    return Node(value, file, line, path, error)


def parse_yaml(text: str, file: str = "<string>", error: type[ConfigError] = ConfigError) -> Node:
    """Parse YAML text into a :class:`Node` tree; syntax errors become ``error`` with a line."""
    try:
        loader = yaml.SafeLoader(text)  # checks for control characters at once
    except yaml.reader.ReaderError as exc:
        raise error(f"YAML syntax: control character {chr(exc.character)!r} is not allowed", file=file,
                    line=text.count("\n", 0, exc.position) + 1) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise error("file is empty", file=file, line=1)
        return _build(root, loader, file, "", error)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error(f"YAML syntax: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML syntax: {exc}", file=file) from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path, error: type[ConfigError] = ConfigError) -> Node:
    """Read and parse a YAML file; a missing or unreadable file is an ``error`` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=str(p)) from None
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text: {exc}", file=str(p)) from None
    return parse_yaml(text, str(p), error)


# -- values that several configuration files share ---------------------------------------------------
def base_dir(node: Node) -> Path:
    """The folder of the file a node came from (``.`` for parsed strings)."""
    if not node.file or node.file.startswith("<"):
        return Path(".")
    return Path(node.file).parent

def resolve_path(node: Node) -> Path:
    """A path value, relative paths taken from the folder of the file that names them."""
    text = node.as_str().strip()
    if not text:
        raise node.error("expected a path, got an empty string")
    if "\x00" in text:  # the OS cannot take it; pathlib would raise a bare ValueError later
        raise node.error("a path cannot contain a NUL character")
    try:
        p = Path(text).expanduser()
    except RuntimeError:  # "~name" of a user this system does not have
        raise node.error(f"'{text[:60]}': no such user's home directory") from None
    return Path(os.path.normpath(p if p.is_absolute() else base_dir(node) / p))

def parse_timezone(node: Node) -> str:
    """An IANA time zone name that this system's zoneinfo knows (unit files and operator files)."""
    tz = node.as_str()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise node.error(f"unknown time zone '{tz}' (e.g. Europe/Copenhagen)") from None
    return tz
