"""How Gatekeeper's manager reads its command line, and which version it is.

Contract: pure, and only raises ``Unreadable`` (never anything else) on input the manager
itself would refuse or that cannot be read with certainty. Mirrors Go's ``flag`` package
(``flag.Parse``: ``-f`` and ``--f`` alike, ``-f=v``, ``strconv.ParseBool`` values, a
boolean never takes the next argument, a non-boolean always does, parsing stops at the
first non-flag argument or after ``--``) and Gatekeeper's ``pkg/operations`` (``opSet.Set``:
the flag repeats, each value a comma-separated list of known operations). Which flags are
booleans is Gatekeeper's own: ``sweeper.core.gatekeeper_flags``, every release v3.17.0..HEAD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sweeper.core.gatekeeper_flags import FLAGS

VAP_FLAG = "default-create-vap-for-templates"
VAPB_FLAG = "default-create-vap-binding-for-constraints"
REMOTE_FLAG = "enable-remote-cluster"  # reconciles the cluster of --kubeconfig, not this one
OPERATION_FLAG = "operation"

# pkg/operations allOperations; opSet.Set rejects any other value.
OPERATIONS = frozenset(
    {
        "audit",
        "generate",
        "mutation-controller",
        "mutation-status",
        "mutation-webhook",
        "status",
        "webhook",
    }
)
VALIDATION_OPERATIONS = frozenset({"audit", "status", "webhook"})  # HasValidationOperations

# Every flag of every release v3.17.0..HEAD (``gatekeeper_flags``, extracted from the source):
# a bool never takes the next argument, a value always does (without "="). A flag that is a
# bool in some releases and a value in others, or in none, is read both ways.
BOOL_FLAGS = frozenset(name for name, (kind, *_) in FLAGS.items() if kind == "bool")
VALUE_FLAGS = frozenset(name for name, (kind, *_) in FLAGS.items() if kind == "value")
_WATCHED = (VAP_FLAG, VAPB_FLAG, REMOTE_FLAG)
# strconv.ParseBool
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class Unreadable(Exception):
    """Something in Gatekeeper's Deployments that the sweeper cannot read with certainty;
    ``cause`` names the kind of it for the ``gatekeeper_not_observed`` line."""

    def __init__(self, message: str, cause: str = "args-unreadable") -> None:
        super().__init__(message)
        self.cause = cause


# --- Go flag syntax --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flags:
    """The flags of one manager argv that decide VAP and VAPB generation."""

    operations: frozenset[str] | None  # None: no --operation, so every operation
    vap_default: bool | None  # --default-create-vap-for-templates; None when absent
    vapb_default: bool | None  # --default-create-vap-binding-for-constraints
    remote_cluster: bool = False  # --enable-remote-cluster: it reconciles another cluster


def parse_bool(value: str, flag: str) -> bool:
    """strconv.ParseBool, as Go's flag package applies it to ``-flag=value``."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Unreadable(f"invalid boolean value {value!r} for -{flag}")


def _operations(value: str) -> frozenset[str]:
    """operations opSet.Set: a comma-separated list of known operations."""
    found = frozenset(value.split(","))
    unknown = sorted(found - OPERATIONS)
    if unknown:
        raise Unreadable(f"operation {unknown[0]!r} is not a valid operation")
    return found


@dataclass(frozen=True, slots=True)
class _State:
    """What the arguments read so far set."""

    operations: frozenset[str] | None = None
    bools: tuple[bool | None, ...] = (None, None, None)  # _WATCHED, in order

    def flags(self) -> Flags:
        vap, vapb, remote = self.bools
        return Flags(self.operations, vap, vapb, bool(remote))

    def with_bool(self, name: str, value: bool) -> _State:
        if name not in _WATCHED:
            return self
        bools = list(self.bools)
        bools[_WATCHED.index(name)] = value
        return _State(self.operations, tuple(bools))

    def with_operations(self, value: str) -> _State:
        return _State((self.operations or frozenset()) | _operations(value), self.bools)


def parse_flags(argv: Sequence[str]) -> Flags:
    """Go ``flag.Parse`` over ``argv`` for the flags that matter; Unreadable where Go fails.

    ``-f`` and ``--f`` alike; ``-f=v``; a non-boolean flag takes the next argument; parsing
    stops at the first non-flag argument or after ``--``; the last boolean wins and every
    ``--operation`` adds to the set. A flag no release defines as one type, written without
    "=", is read both ways: when the two readings differ in what matters, Unreadable.
    """
    return _parse(tuple(argv), _State(), depth=0).flags()


def _parse(rest: tuple[str, ...], state: _State, *, depth: int) -> _State:
    while rest:
        arg, rest = rest[0], rest[1:]
        if len(arg) < 2 or arg[0] != "-" or arg == "--":
            break
        name = arg[2:] if arg[1] == "-" else arg[1:]
        if not name or name[0] in "-=":
            raise Unreadable(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        if name in ("help", "h"):
            raise Unreadable(f"{arg} only prints the usage")
        if name in _WATCHED or name in BOOL_FLAGS:
            state = state.with_bool(name, parse_bool(value, name) if has_value else True)
            continue
        if not has_value and name not in VALUE_FLAGS:
            return _either(name, rest, state, depth=depth)
        if not has_value:
            if not rest:
                raise Unreadable(f"flag needs an argument: -{name}")
            value, rest = rest[0], rest[1:]
        if name == OPERATION_FLAG:
            state = state.with_operations(value)
    return state


def _either(name: str, rest: tuple[str, ...], state: _State, *, depth: int) -> _State:
    """An unknown flag without "=": as a bool (the rest goes on) and as a value (it takes the
    next argument). A reading the manager would refuse is not the one running; readings
    that differ in the flags that matter make the argv unreadable."""
    if depth > 8:  # each unknown flag doubles the readings: a bound, not a guess
        raise Unreadable(f"too many flags no Gatekeeper release defines (-{name} ...)")
    readings: list[_State] = []
    errors: list[str] = []
    for tail in (rest, rest[1:] if rest else None):
        if tail is None:
            continue
        try:
            readings.append(_parse(tail, state, depth=depth + 1))
        except Unreadable as exc:
            errors.append(str(exc))
    if not readings:
        raise Unreadable(errors[0])
    if len({reading.flags() for reading in readings}) > 1:
        raise Unreadable(
            f"-{name} is a flag no Gatekeeper release v3.17+ defines; read as a bool or as "
            f"taking {rest[0]!r}, the flags that decide generation differ"
        )
    return readings[0]
