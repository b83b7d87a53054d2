"""python -m ithaca_model module:Class [extra args]   (module may be a path/to/file.py)"""

import importlib
import importlib.util
import sys
from pathlib import Path

from .runtime import run


def load_class(spec: str):
    module_name, sep, class_name = spec.rpartition(":")
    if not sep or not module_name or not class_name:
        raise SystemExit(f"usage: python -m ithaca_model module:Class [args...] (got {spec!r})")
    if module_name.endswith(".py"):
        path = Path(module_name)
        file_spec = importlib.util.spec_from_file_location(path.stem, path)
        if file_spec is None or file_spec.loader is None:
            raise SystemExit(f"cannot load {path}")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[path.stem] = module
        file_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, class_name)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return run(load_class(sys.argv[1]), sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
