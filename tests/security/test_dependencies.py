"""Dependencies: known-vulnerable versions fail the build; an unreachable advisory service is
reported as "not audited", never as "no vulnerabilities"."""

from tests.security import dependency_audit
from tests.security.dependency_audit import classify_npm_audit, classify_pip_audit, floor_audit


def test_installed_and_locked_versions_are_above_every_known_vulnerable_version():
    audit = floor_audit()
    assert audit.vulnerable == []
    assert audit.audited >= 15  # the table is really applied to what is installed and locked


def test_the_floor_table_catches_a_vulnerable_version(monkeypatch):
    real = dependency_audit.metadata.version
    monkeypatch.setattr(
        dependency_audit.metadata,
        "version",
        lambda name: "4.2.0" if name == "python-socketio" else real(name),
    )
    assert any("CVE-2019-13611" in line for line in floor_audit().vulnerable)


def test_unreachable_advisories_are_not_reported_as_clean():
    skipped = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI"}]}
    assert classify_pip_audit(skipped).status == "unreachable"
    assert classify_npm_audit({"message": "405 Method Not Allowed"}).status == "unreachable"
    assert classify_npm_audit({"error": {"code": "ENOAUDIT", "summary": "x"}}).status == (
        "unreachable"
    )


def test_found_vulnerabilities_fail():
    report = {
        "dependencies": [
            {"name": "flask", "version": "2.0.0", "vulns": [{"id": "PYSEC-X", "fix_versions": []}]},
            {"name": "click", "version": "8.1.0", "vulns": []},
        ]
    }
    audit = classify_pip_audit(report)
    assert audit.status == "vulnerable" and audit.audited == 2
    npm = classify_npm_audit(
        {"vulnerabilities": {"ws": {"severity": "high", "range": "<8.17.1"}}, "metadata": {}}
    )
    assert npm.status == "vulnerable"
    assert classify_npm_audit({"vulnerabilities": {}, "metadata": {}}).status == "clean"
