"""The import rules of docs/architecture.md, read from the source with `ast`:

- core/ imports nothing outside core/; local/ and alembic/ import only core/;
- api/router.py mounts the domains through their declarations and imports none of them;
  api/ imports a domain only through its public modules;
- a domain imports another only through its public modules (models, service, domain; for
  the job runtime also its seam: runtime, errors, beat; projects' visibility; connections'
  google and routes), and only `app.api.deps` of api/;
- the domains' imports of each other make no cycle;
- every package under app/ is a layer or a domain listed in core/domains.py.
main.py and cli.py put the application together and may import anything.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import app
from app.core.domains import DOMAINS

APP_DIR = Path(app.__file__).parent
LAYERS = {"core", "local", "api", "alembic"}
ROOTS = {"main", "cli"}
PUBLIC_MODULES = {"models", "service", "domain"}
# What job domains build on, beyond the public modules.
SEAMS = {
    "jobs": {"runtime", "errors", "beat"},
    "projects": {"visibility"},
    "connections": {"google", "routes"},
}


def _imports(path: Path, app_dir: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, dotted target) of every `app.` import in the file, functions included."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module.split(".")
            for alias in node.names:
                # `from app.jobs import service` names a module; `from app.jobs.models import
                # JobRun` names a value of one.
                candidate = [*base, alias.name]
                inner = app_dir.joinpath(*candidate[1:])
                module = inner.is_dir() or inner.with_suffix(".py").is_file()
                yield node.lineno, candidate if module else base


def _allowed(source: str, target: list[str], domains: set[str]) -> bool:
    package = target[1] if len(target) > 1 else ""
    module = target[2] if len(target) > 2 else None
    if source == package or source in ROOTS:
        return True
    if source in {"core", "local", "alembic"}:
        return package == "core"
    if package == "core":
        return True
    if package == "api":
        return source in domains and module == "deps"
    if package not in domains:
        return False  # main, cli, local, alembic: nobody imports them
    return module in PUBLIC_MODULES or module in SEAMS.get(package, set())


def import_violations(app_dir: Path, domains: set[str]) -> list[str]:
    found: list[str] = []
    edges: dict[str, set[str]] = {}
    for path in sorted(app_dir.rglob("*.py")):
        relative = path.relative_to(app_dir)
        source = relative.parts[0].removesuffix(".py")
        if source != "__init__" and source not in LAYERS | ROOTS | domains:
            found.append(f"{relative}: app/{source} is neither a layer nor a listed domain")
        for line, target in _imports(path, app_dir):
            if target[0] != "app":
                continue
            where = f"{relative}:{line} imports {'.'.join(target)}"
            if relative.as_posix() == "api/router.py" and target[1] in domains:
                found.append(f"{where}: the router mounts domains by their declarations")
            elif not _allowed(source, target, domains):
                found.append(f"{where}: not allowed")
            elif source in domains and len(target) > 1 and target[1] in domains - {source}:
                edges.setdefault(source, set()).add(target[1])
    found.extend(f"domain import cycle: {' -> '.join(cycle)}" for cycle in _cycles(edges))
    return found


def _cycles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    def walk(node: str, path: list[str]) -> Iterator[list[str]]:
        for nxt in sorted(edges.get(node, ())):
            if nxt == path[0]:
                yield [*path, nxt]
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its least node
                yield from walk(nxt, [*path, nxt])

    for start in sorted(edges):
        yield from walk(start, [start])


def _domain_names() -> set[str]:
    return {package.removeprefix("app.") for package in DOMAINS}


def test_the_source_follows_the_import_rules() -> None:
    assert import_violations(APP_DIR, _domain_names()) == []


def test_each_rule_catches_its_violation(tmp_path: Path) -> None:
    files = {
        "core/config.py": "from app.audits import service\n",
        "core/celery_app.py": "import app.core.config\n",
        "api/router.py": "from app.audits.routes import router\n",
        "api/deps.py": "from app.projects import service\nfrom app.jobs.queries import q\n",
        "audits/service.py": "from app.jobs import service\nfrom app.jobs.queries import q\n",
        "audits/tasks.py": "from app.jobs.runtime import tracked_task\nfrom app.main import app\n",
        "audits/routes.py": "from app.api.router import build_api_router\n",
        "jobs/service.py": "def f():\n    from app.audits.models import AuditRun\n",
        "jobs/queries.py": "q = 1\n",
        "jobs/runtime.py": "",
        "projects/service.py": "",
        "reports/service.py": "",
        "main.py": "from app.jobs.queries import q\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    found = "\n".join(import_violations(tmp_path, {"audits", "jobs", "projects"}))

    assert "core/config.py:1 imports app.audits.service: not allowed" in found
    assert "api/router.py:1 imports app.audits.routes: the router mounts domains" in found
    assert "api/deps.py:2 imports app.jobs.queries: not allowed" in found
    assert "audits/service.py:2 imports app.jobs.queries: not allowed" in found
    assert "audits/tasks.py:2 imports app.main: not allowed" in found
    assert "audits/routes.py:1 imports app.api.router: not allowed" in found
    assert "domain import cycle: audits -> jobs -> audits" in found
    assert "reports/service.py: app/reports is neither a layer nor a listed domain" in found
    # What the rules allow is not reported.
    assert "core/celery_app.py" not in found
    assert "api/deps.py:1" not in found
    assert "audits/service.py:1" not in found
    assert "audits/tasks.py:1" not in found
    assert "main.py" not in found
