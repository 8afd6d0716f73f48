"""The Azure ML v1 public surface, read from the v1 wheels' source, and the docs table.

    python tools/azureml_surface.py manifest [--wheels DIR]  # tests/data/azureml_v1_surface.json
    python tools/azureml_surface.py docs                     # the table in docs/migration.md

`manifest` downloads the v1 wheels (`pip download --no-deps`, into a throwaway folder
unless --wheels names one that has them) and reads their source with `ast`: nothing of
azureml is imported or installed, so neither the generator nor the test needs azureml's
dependencies, and runyard never depends on azureml. For each module of `MODULES` it
records the public names (`__all__` where the module has one, else the classes, functions
and constants it defines and the exception classes it imports from `azureml.*`), and for
classes their public methods, properties and class attributes (inherited from azureml
bases too), each callable with its parameter names and whether it takes **kwargs.

`docs` needs no network: it writes the table of `runyard.azureml._surface` (the v1 names
runyard ignores or refuses, and why) between the markers in docs/migration.md;
tests/test_azureml_surface.py checks that the table is current and that every name of the
manifest is in runyard.azureml or in that table.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "data" / "azureml_v1_surface.json"
MIGRATION = ROOT / "docs" / "migration.md"

PACKAGES = ["azureml-core", "azureml-train-core", "azureml-train-restclients-hyperdrive",
            "azureml-widgets", "azureml-tensorboard", "azureml-telemetry"]

# The v1 modules issue 12 lists. The issue's `compute.remote_compute` is v1's
# `azureml.core.compute.remote` (RemoteCompute), the module that exists.
MODULES = [
    "azureml.core",
    "azureml.core.authentication",
    "azureml.core.compute",
    "azureml.core.compute.amlcompute",
    "azureml.core.compute.computeinstance",
    "azureml.core.compute.remote",
    "azureml.core.compute_target",
    "azureml.core.conda_dependencies",
    "azureml.core.container_registry",
    "azureml.core.dataset",
    "azureml.core.datastore",
    "azureml.core.environment",
    "azureml.core.experiment",
    "azureml.core.model",
    "azureml.core.run",
    "azureml.core.runconfig",
    "azureml.core.script_run_config",
    "azureml.core.webservice",
    "azureml.core.workspace",
    "azureml.data",
    "azureml.exceptions",
    "azureml.telemetry",
    "azureml.tensorboard",
    "azureml.train.dnn",
    "azureml.train.estimator",
    "azureml.train.hyperdrive",
    "azureml.widgets",
]

# v1 binds these in its packages, outside __all__; notebooks print them.
VERSION_NAMES = ("VERSION", "__version__")
BEGIN = "<!-- BEGIN azureml surface table: tools/azureml_surface.py docs writes it -->"
END = "<!-- END azureml surface table -->"


@dataclass
class Module:
    name: str
    is_package: bool
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)          # name -> node
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, name)
    all: list[str] | None = None


class Source:
    """The extracted wheels: modules parsed on demand, names resolved through imports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, Module | None] = {}

    def module(self, name: str) -> Module | None:
        if name not in self.modules:
            self.modules[name] = self._load(name)
        return self.modules[name]

    def _load(self, name: str) -> Module | None:
        base = self.root.joinpath(*name.split("."))
        candidates = ((base / "__init__.py", True), (base.with_suffix(".py"), False))
        found = [(path, package) for path, package in candidates if path.is_file()]
        if not found:
            return None
        path, is_package = found[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        module = Module(name, is_package, tree)
        package = name if is_package else name.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                module.defs[node.name] = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        if target.id == "__all__" and isinstance(node.value, ast.List | ast.Tuple):
                            module.all = [e.value for e in node.value.elts if
                                          isinstance(e, ast.Constant) and isinstance(e.value, str)]
                        else:
                            module.defs[target.id] = node
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[:len(parts) - node.level + 1]
                    source = ".".join([*parts, *([source] if source else [])])
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (source, alias.name)
        return module

    def resolve(self, module_name: str, name: str, depth: int = 0) -> tuple[str, ast.AST] | None:
        """(defining module, node) of `name` as `module_name` binds it, through imports."""
        module = self.module(module_name)
        if module is None or depth > 20:
            return None
        if name in module.defs:
            return module_name, module.defs[name]
        if name in module.imports:
            source, original = module.imports[name]
            if self.module(f"{source}.{original}") is not None:
                return None  # a submodule, not a name
            return self.resolve(source, original, depth + 1)
        return None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef,
                drop_first: bool) -> dict[str, Any]:
    args = function.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if drop_first and positional:
        positional = positional[1:]
    names = [*positional, *(a.arg for a in args.kwonlyargs)]
    return {"params": names, "var_keyword": args.kwarg is not None,
            "var_positional": args.vararg is not None}


def _decorators(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)  # `x.setter` -> 'setter'
    return names


def _public(name: str) -> bool:
    return not name.startswith("_")


def _is_exception(source: Source, module_name: str, node: ast.ClassDef, depth: int = 0) -> bool:
    if node.name.endswith(("Exception", "Error")):
        return True
    for base in node.bases:
        resolved = _resolve_expr(source, module_name, base)
        if resolved and isinstance(resolved[1], ast.ClassDef) and depth < 20 \
                and _is_exception(source, resolved[0], resolved[1], depth + 1):
            return True
    return False


def _resolve_expr(source: Source, module_name: str, expr: ast.expr) -> tuple[str, ast.AST] | None:
    if isinstance(expr, ast.Name):
        return source.resolve(module_name, expr.id)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        module = source.module(module_name)
        if module is not None and expr.value.id in module.imports:
            origin, original = module.imports[expr.value.id]
            return source.resolve(f"{origin}.{original}", expr.attr)
    return None


def _class_record(source: Source, module_name: str, node: ast.ClassDef,
                  depth: int = 0) -> dict[str, Any]:
    """Public members of a class, inherited azureml members first, then its own."""
    members: dict[str, dict[str, Any]] = {}
    init: dict[str, Any] | None = None
    for base in node.bases:
        resolved = _resolve_expr(source, module_name, base)
        if resolved and isinstance(resolved[1], ast.ClassDef) and depth < 20:
            inherited = _class_record(source, resolved[0], resolved[1], depth + 1)
            for name, member in inherited["members"].items():
                members.setdefault(name, member)
            if init is None and inherited.get("init") is not None:
                init = inherited["init"]
    own: dict[str, dict[str, Any]] = {}
    own_init: dict[str, Any] | None = None
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = _decorators(item)
            if item.name == "__init__":
                own_init = _parameters(item, drop_first=True)
            elif not _public(item.name) or "setter" in decorators or "deleter" in decorators:
                continue
            elif "property" in decorators or "cached_property" in decorators:
                own[item.name] = {"kind": "property"}
            else:
                own[item.name] = {"kind": "method",
                                  **_parameters(item, drop_first="staticmethod" not in decorators)}
        elif isinstance(item, ast.Assign | ast.AnnAssign):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                if isinstance(target, ast.Name) and _public(target.id):
                    own[target.id] = {"kind": "attribute"}
        elif isinstance(item, ast.ClassDef) and _public(item.name):
            own[item.name] = {"kind": "attribute"}
    members.update(own)
    record: dict[str, Any] = {"kind": "class", "defined_in": f"{module_name}.{node.name}",
                              "init": own_init if own_init is not None else init,
                              "members": dict(sorted(members.items()))}
    return record


def _name_record(source: Source, module_name: str, name: str) -> dict[str, Any]:
    resolved = source.resolve(module_name, name)
    if resolved is None:
        return {"kind": "constant"}  # bound from outside the wheels (e.g. a version string)
    where, node = resolved
    if isinstance(node, ast.ClassDef):
        return _class_record(source, where, node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return {"kind": "function", "defined_in": f"{where}.{name}",
                **_parameters(node, drop_first=False)}
    return {"kind": "constant"}


def module_surface(source: Source, module_name: str) -> dict[str, Any]:
    module = source.module(module_name)
    if module is None:
        raise SystemExit(f"{module_name}: not in the wheels")
    if module.all is not None:
        names = {n for n in module.all if _public(n)}
    else:
        # Constants count when named as constants: `module_logger = logging.getLogger()`
        # or a lock is not surface, `DEFAULT_CPU_IMAGE = "..."` is.
        names = {n for n, node in module.defs.items() if _public(n)
                 and (not isinstance(node, ast.Assign | ast.AnnAssign) or n.isupper())}
        for name, (origin, _original) in module.imports.items():
            resolved = source.resolve(module_name, name)
            if (_public(name) and origin.startswith("azureml.") and resolved
                    and isinstance(resolved[1], ast.ClassDef)
                    and _is_exception(source, resolved[0], resolved[1])):
                names.add(name)
    if module.is_package:
        names |= {n for n in VERSION_NAMES if n in module.defs or n in module.imports}
    return {name: _name_record(source, module_name, name) for name in sorted(names)}


def _download(wheels: Path) -> dict[str, str]:
    """The wheels' versions by package, downloading what is not in `wheels` yet."""
    versions = _versions(wheels)
    missing = [p for p in PACKAGES if p not in versions]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", str(wheels), *missing], check=True)
        versions = _versions(wheels)
    return {p: versions[p] for p in PACKAGES}


def _versions(wheels: Path) -> dict[str, str]:
    found = {}
    for wheel in wheels.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        found[name.replace("_", "-").lower()] = version
    return found


def build_manifest(wheels: Path) -> dict[str, Any]:
    versions = _download(wheels)
    extracted = Path(tempfile.mkdtemp(prefix="azureml-v1-src-"))
    for wheel in sorted(wheels.glob("*.whl")):
        if wheel.name.split("-")[0].replace("_", "-").lower() in PACKAGES:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(extracted, [n for n in archive.namelist()
                                               if n.startswith("azureml/") and n.endswith(".py")])
    source = Source(extracted)
    return {"generated_by": "python tools/azureml_surface.py manifest",
            "packages": versions,
            "modules": {name: module_surface(source, name) for name in MODULES}}


def docs_table() -> str:
    """The markdown table of runyard.azureml._surface, by v1 path."""
    sys.path.insert(0, str(ROOT / "src"))
    from runyard.azureml import _surface

    lines = ["| v1 name | runyard | why, and what to use instead |", "|---|---|---|"]
    for entry in sorted(_surface.ENTRIES.values(), key=lambda e: e.path):
        reason = entry.reason.replace("|", "\\|")
        also = "".join(f", `{module}.{entry.name}`" for module in entry.also)
        lines.append(f"| `{entry.path}`{also} | {entry.category} | {reason} |")
    return "\n".join(lines)


def write_docs(path: Path = MIGRATION) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + docs_table() + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    manifest = sub.add_parser("manifest", help="read the v1 wheels, write the manifest")
    manifest.add_argument("--wheels", type=Path, help="folder with (or for) the v1 wheels")
    sub.add_parser("docs", help="write the surface table into docs/migration.md")
    args = parser.parse_args(argv)
    if args.command == "manifest":
        wheels = args.wheels or Path(tempfile.mkdtemp(prefix="azureml-v1-wheels-"))
        wheels.mkdir(parents=True, exist_ok=True)
        data = build_manifest(wheels)
        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        MANIFEST.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        names = sum(len(m) for m in data["modules"].values())
        print(f"wrote {MANIFEST.relative_to(ROOT)}: {len(data['modules'])} modules, {names} names")
    else:
        write_docs()
        print(f"wrote the surface table in {MIGRATION.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
