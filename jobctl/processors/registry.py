"""The processor registry: job type -> processor, filled from the `jobctl.processors` entry points.

Installable plugins register their own processors (and, through a `spec` attribute, their own
job types) in that group. A built-in type whose processor is not installed is known but not
runnable: enqueueing it fails at once with ProcessorNotAvailableError, never a pretend run.

Producers (`jobctl enqueue`, the API, the scheduler) only need to know which types are
runnable, not the processors themselves: `producer_registry` does not import the processors of
built-in types (measured: importing them all costs ~1.4 s of a 2.3 s `jobctl enqueue`, for
trafilatura, lxml, pypdf, bm25s, Pillow), only plugins of types jobctl does not know.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from jobctl.domain.errors import ProcessorNotAvailableError, UnknownJobTypeError
from jobctl.domain.job_types import BUILTIN_JOB_TYPES, JobTypeSpec, normalise_type_name
from jobctl.processors.base import Processor, plugin_spec

log = logging.getLogger("jobctl.processors")

ENTRY_POINT_GROUP = "jobctl.processors"


@dataclass(frozen=True)
class Registry:
    specs: dict[str, JobTypeSpec]
    processors: dict[str, Processor]
    load_errors: dict[str, str]
    # Built-in types whose entry point exists but was not loaded (producer registries).
    installed: frozenset[str] = frozenset()

    def spec(self, job_type: str) -> JobTypeSpec:
        name = normalise_type_name(job_type)
        spec = self.specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self.specs))
            raise UnknownJobTypeError(f"unknown job type {job_type!r} (known: {known})")
        return spec

    def runnable_spec(self, job_type: str) -> JobTypeSpec:
        """The spec of a type that can run here; raises for unknown or processor-less types."""
        spec = self.spec(job_type)
        if spec.name not in self.processors and spec.name not in self.installed:
            why = self.load_errors.get(spec.name)
            detail = (
                f" (its plugin failed to load: {why})" if why else " (not implemented yet in this jobctl)"
            )
            raise ProcessorNotAvailableError(
                f"job type {spec.name!r} has no processor installed{detail}; nothing was enqueued"
            )
        return spec

    def processor(self, job_type: str) -> Processor:
        spec = self.runnable_spec(job_type)
        return self.processors[spec.name]


def build_registry(extra: dict[str, Any] | None = None, *, load_builtins: bool = True) -> Registry:
    """Load every processor from the entry-point group (plus `extra`, name -> class, for tests).

    With `load_builtins=False` the entry points of built-in types are only noted as installed
    (a producer's view): a broken one then fails in the worker that loads it, not at enqueue.
    """
    specs = dict(BUILTIN_JOB_TYPES)
    processors: dict[str, Processor] = {}
    errors: dict[str, str] = {}
    installed: set[str] = set()
    candidates: list[tuple[str, Any]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if not load_builtins and normalise_type_name(ep.name) in BUILTIN_JOB_TYPES:
            installed.add(normalise_type_name(ep.name))
            continue
        try:
            candidates.append((ep.name, ep.load()))
        except Exception as exc:  # a broken plugin must not take the others down
            errors[normalise_type_name(ep.name)] = f"{type(exc).__name__}: {exc}"
            log.warning("processor plugin %s failed to load: %s", ep.name, exc)
    candidates.extend((extra or {}).items())
    for name, cls in candidates:
        instance = cls() if isinstance(cls, type) else cls
        spec = plugin_spec(instance)
        type_name = spec.name if spec else normalise_type_name(getattr(instance, "job_type", name))
        if spec is not None:
            specs.setdefault(type_name, spec)
        if type_name not in specs:
            errors[type_name] = "plugin declares no `spec` for a job type jobctl does not know"
            continue
        processors[type_name] = instance
    return Registry(specs=specs, processors=processors, load_errors=errors, installed=frozenset(installed))


@cache
def default_registry() -> Registry:
    """The worker's registry: every processor loaded, so a broken plugin shows at start-up."""
    return build_registry()


@cache
def producer_registry() -> Registry:
    """The enqueueing side's registry: which types can run, without importing their code."""
    return build_registry(load_builtins=False)
