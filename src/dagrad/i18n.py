"""German and English through GNU gettext: ``_()``, the language setting and the catalogs.

The prose dagrad writes for people is marked ``_("…")`` (English msgids); the German lives in
``dagrad/locale/de/LC_MESSAGES/dagrad.po``.  The compiled ``dagrad.mo`` next to it is built
at install time (``setup.py``'s ``build_py``), by ``scripts/bootstrap.sh`` and by
``python -m dagrad.i18n`` (which compiles every catalog in place).  The ``.mo`` records the
SHA-1 of the ``.po`` it was built from; where it is missing or was built from another ``.po``
(a fresh clone, an edited catalog) the catalog is compiled from the ``.po`` in memory, so a
German run never silently falls back to English.

The language is, in this order: :func:`set_language` (the ``--lang`` option), the environment
variable ``DAGRAD_LANG``, the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``); English when none
names a language dagrad has.  The mathematics is shared: only prose goes through ``_()``.

argparse's own strings ("usage: ", "options", its error messages) go through the same catalog
with :func:`translated_parser`, a parser class hook.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gettext
import hashlib
import io
import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["_", "N_", "ngettext", "LANGUAGES", "DOMAIN", "LOCALE_DIR", "set_language",
           "get_language", "language_from_environment", "language_from_argv", "use_language",
           "translation", "read_po", "compile_po", "compile_catalogs", "translated_parser",
           "ARGPARSE_MESSAGES"]

DOMAIN = "dagrad"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The languages dagrad writes (English is the msgids themselves).
LANGUAGES = ("en", "de")
_HASH_FIELD = "X-Dagrad-Po-SHA1"

_language: str | None = None  # set by set_language (the --lang option)
_cache: dict[str, gettext.NullTranslations] = {}


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it now (msgid → msgid)."""
    return message


# ----------------------------------------------------------------------------- the .po / .mo
def _unquote(text: str, path: Path, line: int) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{path}:{line}: expected a quoted string, got {text!r}")
    try:
        value = ast.literal_eval(text)  # a Python string literal: escapes as in C
    except (SyntaxError, ValueError):
        raise ValueError(f"{path}:{line}: bad string {text!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"{path}:{line}: bad string {text!r}")
    return value


def read_po(path: str | os.PathLike) -> dict[str, str]:
    """The entries of a ``.po`` file, msgid → msgstr (the header under ``""``; fuzzy and
    untranslated entries left out, as msgfmt does).  Errors name the file and the line."""
    path = Path(path)
    entries: dict[str, str] = {}
    msgid: str | None = None
    msgstr: str | None = None
    field_ = ""
    fuzzy = pending_fuzzy = False

    def flush() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None:
            if msgstr is None:
                raise ValueError(f"{path}: msgid {msgid!r} has no msgstr")
            if msgstr and not fuzzy:
                if msgid in entries:
                    raise ValueError(f"{path}: msgid {msgid!r} appears twice")
                entries[msgid] = msgstr
        msgid = msgstr = None
        fuzzy = False

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                pending_fuzzy = True
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, field_ = _unquote(line[6:], path, number), None, "id"
            fuzzy, pending_fuzzy = pending_fuzzy, False
        elif line.startswith("msgstr "):
            if msgid is None:
                raise ValueError(f"{path}:{number}: msgstr without msgid")
            msgstr, field_ = _unquote(line[7:], path, number), "str"
        elif line.startswith('"'):
            if field_ == "id" and msgid is not None:
                msgid += _unquote(line, path, number)
            elif field_ == "str" and msgstr is not None:
                msgstr += _unquote(line, path, number)
            else:
                raise ValueError(f"{path}:{number}: a continuation string outside an entry")
        else:
            raise ValueError(f"{path}:{number}: cannot read {line[:40]!r} (plural forms and "
                             "contexts are not used by dagrad's catalogs)")
    flush()
    return entries


def _po_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def compile_po(path: str | os.PathLike) -> bytes:
    """The GNU ``.mo`` bytes of a ``.po`` file (msgids sorted, as msgfmt writes them), with the
    ``.po``'s SHA-1 in the header."""
    path = Path(path)
    entries = read_po(path)
    header = entries.get("", "")
    header = "".join(line + "\n" for line in header.splitlines()
                     if not line.startswith(_HASH_FIELD + ":"))
    entries[""] = header + f"{_HASH_FIELD}: {_po_sha1(path)}\n"
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n  # header, two tables of (length, offset)
    offsets_id, offsets_str, blob = [], [], b""
    for b in ids:
        offsets_id.append((len(b), start + len(blob)))
        blob += b + b"\0"
    for b in strs:
        offsets_str.append((len(b), start + len(blob)))
        blob += b + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    out += b"".join(struct.pack("<2I", *o) for o in offsets_id)
    out += b"".join(struct.pack("<2I", *o) for o in offsets_str)
    return out + blob


def _catalog(language: str) -> tuple[Path, Path]:
    base = LOCALE_DIR / language / "LC_MESSAGES"
    return base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"


def compile_catalogs(directory: str | os.PathLike | None = None) -> list[Path]:
    """Write ``dagrad.mo`` beside every ``dagrad.po`` under ``directory`` (default: the
    package's locale folder) atomically; returns the files written.

    The write is a temporary file renamed over the target (``os.replace``), done here rather
    than with :mod:`dagrad.atomic`: that module's ``load_npz`` reaches ``dagrad.npz``, whose
    errors are translated through this module, and the import graph must have no circle."""
    root = Path(directory) if directory is not None else LOCALE_DIR
    written = []
    for po in sorted(root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        data = compile_po(po)
        tmp = mo.parent / f".{mo.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0666 minus the umask
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, mo)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        written.append(mo)
    return written


def translation(language: str) -> gettext.NullTranslations:
    """The catalog of ``language`` ("en": the msgids themselves): the installed ``.mo`` when it
    was built from the ``.po`` beside it, else the ``.po`` compiled in memory."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; dagrad writes {', '.join(LANGUAGES)}")
    if language == "en":
        return gettext.NullTranslations()
    if language in _cache:
        return _cache[language]
    po, mo = _catalog(language)
    if not po.is_file():
        raise FileNotFoundError(f"the {language} catalog {po} is missing (a broken install?)")
    data = mo.read_bytes() if mo.is_file() else b""
    trans = gettext.GNUTranslations(io.BytesIO(data)) if data else None
    if trans is None or trans.info().get(_HASH_FIELD.lower()) != _po_sha1(po):
        trans = gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    _cache[language] = trans
    return trans


# ----------------------------------------------------------------------------- the language
def _normalise(name: str | None) -> str | None:
    """'de_DE.UTF-8' → 'de'; None for a language dagrad does not write (or C/POSIX)."""
    if not name:
        return None
    code = name.split(".", 1)[0].split("@", 1)[0].split("_", 1)[0].split("-", 1)[0].lower()
    return code if code in LANGUAGES else None


def language_from_environment(environ: Any = None) -> str:
    """``DAGRAD_LANG`` (which must name a language dagrad writes), else the locale's
    (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, ``LANGUAGE``), else "en"."""
    env = os.environ if environ is None else environ
    explicit = env.get("DAGRAD_LANG", "").strip()
    if explicit:
        lang = _normalise(explicit)
        if lang is None:
            raise ValueError(f"DAGRAD_LANG={explicit!r} is not a language dagrad writes; use "
                             f"one of {', '.join(LANGUAGES)}")
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            for part in value.split(":"):
                lang = _normalise(part)
                if lang:
                    return lang
            return "en"  # the first set variable decides, as the C library's lookup
    return "en"


def language_from_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` in a command line (``--lang de`` or ``--lang=de``), else None;
    read before the parser is built so that ``--help`` is in that language."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def set_language(language: str | None) -> str:
    """Use ``language`` ("en" or "de"; None: back to the environment's) from now on; returns
    the language now in use."""
    global _language
    if language is not None:
        lang = _normalise(language)
        if lang is None:
            raise ValueError(f"unknown language {language!r}; dagrad writes "
                             f"{', '.join(LANGUAGES)}")
        translation(lang)  # fail now, not at the first string
        _language = lang
    else:
        _language = None
    return get_language()


def get_language() -> str:
    """The language ``_()`` translates into now."""
    return _language if _language is not None else language_from_environment()


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Within the block, ``_()`` writes ``language`` (None: the current one); the previous
    setting comes back after."""
    global _language
    before = _language
    try:
        yield set_language(language) if language is not None else get_language()
    finally:
        _language = before


def _(message: str) -> str:
    """``message`` (an English msgid) in the current language."""
    return translation(get_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return translation(get_language()).ngettext(singular, plural, n)


# ----------------------------------------------------------------------------- argparse
#: argparse's own strings that dagrad's parsers show (Python 3.10–3.13), for the catalog.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("options"), N_("optional arguments"), N_("positional arguments"),
    N_("show this help message and exit"), N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"), N_("expected one argument"),
    N_("expected at most one argument"), N_("expected at least one argument"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("argument %(argument_name)s: %(message)s"), N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("one of the arguments %s is required"), N_("argument \"-\" with mode %r"),
    N_("can't open '%(filename)s': %(error)s"), N_("subcommands"),
)


@contextlib.contextmanager
def _argparse_messages() -> Iterator[None]:
    """argparse's module-level ``_``/``ngettext`` pointed at dagrad's catalog for the block."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def translated_parser(base: type[argparse.ArgumentParser] = argparse.ArgumentParser
                      ) -> type[argparse.ArgumentParser]:
    """A subclass of ``base`` whose argparse strings (usage, section titles, errors, -h's help)
    come from dagrad's catalog in the current language."""

    class Translated(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            with _argparse_messages():
                super().__init__(*args, **kwargs)

        def add_argument(self, *args: Any, **kwargs: Any) -> Any:
            with _argparse_messages():
                return super().add_argument(*args, **kwargs)

        def add_subparsers(self, *args: Any, **kwargs: Any) -> Any:
            with _argparse_messages():
                return super().add_subparsers(*args, **kwargs)

        def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
            with _argparse_messages():
                return super().parse_known_args(*args, **kwargs)

        def parse_args(self, *args: Any, **kwargs: Any) -> Any:  # "unrecognized arguments"
            with _argparse_messages():
                return super().parse_args(*args, **kwargs)

        def format_usage(self) -> str:
            with _argparse_messages():
                return super().format_usage()

        def format_help(self) -> str:
            with _argparse_messages():
                return super().format_help()

        def error(self, message: str) -> Any:
            with _argparse_messages():
                return super().error(message)

    Translated.__name__ = Translated.__qualname__ = f"Translated{base.__name__}"
    return Translated


if __name__ == "__main__":  # python -m dagrad.i18n: compile the catalogs in place
    for written in compile_catalogs():
        print(f"wrote {written}")
