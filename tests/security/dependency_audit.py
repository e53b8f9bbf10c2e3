"""Dependency audit: known-vulnerable versions fail the build.

`python -m tests.security.dependency_audit [--allow-offline]`

Three checks:
1. An offline floor table (data/vulnerable_below.json) against the installed Python packages and
   package-lock.json: always runs, needs no network.
2. pip-audit (PyPI/OSV advisories) on the installed environment.
3. npm audit on package-lock.json.

A package that pip-audit could not look up, or an npm audit endpoint that answers with an error,
is reported as NOT AUDITED, never as "no vulnerabilities". Without --allow-offline that fails the
run; with it (used by `make test` on machines that cannot reach the advisory services) the run
still fails on every vulnerability found, and prints what could not be audited.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
FLOORS = Path(__file__).resolve().parent / "data" / "vulnerable_below.json"
BIN = Path(sys.executable).parent


@dataclass
class Audit:
    name: str
    vulnerable: list[str] = field(default_factory=list)
    not_audited: list[str] = field(default_factory=list)
    audited: int = 0

    @property
    def status(self) -> str:
        if self.vulnerable:
            return "vulnerable"
        if self.not_audited and not self.audited:
            return "unreachable"
        if self.not_audited:
            return "partial"
        return "clean"


def _lock_versions() -> dict[str, str]:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    versions: dict[str, str] = {}
    for path, entry in lock.get("packages", {}).items():
        if path.startswith("node_modules/") and "version" in entry:
            versions.setdefault(path.rsplit("node_modules/", 1)[-1], entry["version"])
    return versions


def _below(installed: str, fixed: str) -> bool:
    try:
        return Version(installed) < Version(fixed)
    except InvalidVersion:
        return True


def floor_audit() -> Audit:
    """Installed and locked versions against the offline table of known-vulnerable versions."""
    audit = Audit("floor table")
    floors = json.loads(FLOORS.read_text())
    for name, (fixed, advisory) in floors["pypi"].items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        audit.audited += 1
        if _below(installed, fixed):
            audit.vulnerable.append(f"{name} {installed} < {fixed}: {advisory}")
    locked = _lock_versions()
    for name, (fixed, advisory) in floors["npm"].items():
        if name in locked:
            audit.audited += 1
            if _below(locked[name], fixed):
                audit.vulnerable.append(f"npm {name} {locked[name]} < {fixed}: {advisory}")
    return audit


def classify_pip_audit(report: dict) -> Audit:
    """pip-audit's JSON: a dependency with a skip_reason was NOT audited."""
    audit = Audit("pip-audit")
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            audit.not_audited.append(f"{dependency['name']}: {dependency['skip_reason']}")
            continue
        audit.audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix"
            audit.vulnerable.append(
                f"{dependency['name']} {dependency.get('version')}: {vuln['id']} (fixed in {fixes})"
            )
    return audit


def pip_audit() -> Audit:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [str(BIN / "pip-audit"), "--local", "--format", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        return classify_pip_audit(json.loads(result.stdout))
    except json.JSONDecodeError:
        return Audit("pip-audit", not_audited=[f"pip-audit failed: {result.stderr[-500:]}"])


def classify_npm_audit(report: dict) -> Audit:
    """npm audit's JSON: an error (e.g. the advisory endpoint refused) means NOT audited."""
    audit = Audit("npm audit")
    if "error" in report or "message" in report and "vulnerabilities" not in report:
        message = report.get("error", {}).get("summary") if "error" in report else None
        audit.not_audited.append(f"npm audit: {message or report.get('message', 'failed')}")
        return audit
    for name, entry in report.get("vulnerabilities", {}).items():
        audit.vulnerable.append(f"npm {name}: {entry.get('severity')} ({entry.get('range')})")
    audit.audited = report.get("metadata", {}).get("dependencies", {}).get("total", 0) or 1
    return audit


def npm_audit() -> Audit:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["npm", "audit", "--json"],  # noqa: S607 - npm from PATH, like `make install`
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return classify_npm_audit(json.loads(result.stdout))
    except json.JSONDecodeError:
        return Audit("npm audit", not_audited=[f"npm audit failed: {result.stderr[-500:]}"])


def main(argv: list[str]) -> int:
    allow_offline = "--allow-offline" in argv
    audits = [floor_audit(), pip_audit(), npm_audit()]
    failed = False
    for audit in audits:
        print(
            f"[{audit.name}] {audit.status}: {audit.audited} audited, "  # noqa: T201
            f"{len(audit.vulnerable)} vulnerable, {len(audit.not_audited)} NOT audited"
        )
        for line in audit.vulnerable:
            print(f"  VULNERABLE {line}")  # noqa: T201
        for line in audit.not_audited[:5]:
            print(f"  NOT AUDITED {line}")  # noqa: T201
        if len(audit.not_audited) > 5:
            print(f"  NOT AUDITED ... and {len(audit.not_audited) - 5} more")  # noqa: T201
        failed |= bool(audit.vulnerable)
        if audit.not_audited and not allow_offline:
            failed = True
    if any(a.not_audited for a in audits) and allow_offline:
        print(
            "WARNING: advisory services unreachable; only the offline floor table was "  # noqa: T201
            "fully checked. Run `make audit` where PyPI/OSV and the npm registry's audit "
            "endpoint are reachable."
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
