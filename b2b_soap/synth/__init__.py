"""Deterministic synthetic LA population for the demo, benchmarks and tests."""

from b2b_soap.synth.population import (
    DEMO_ESTABS,
    DEMO_LA,
    SynthCarerLink,
    SynthPerson,
    generate_population,
)

__all__ = ["SynthPerson", "SynthCarerLink", "generate_population", "DEMO_LA", "DEMO_ESTABS"]
