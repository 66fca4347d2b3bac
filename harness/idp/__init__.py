"""The IdP simulator: profiles, directory sync, record/replay and differential runs.

The package stays light to import (the pytest plugin lists profile names from it); import
the engine from its modules: `harness.idp.profiles`, `harness.idp.simulator`,
`harness.idp.model`.
"""

from __future__ import annotations

__all__: list[str] = []
