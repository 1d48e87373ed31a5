"""The workshop under test as one folder, laid out as a workshop author hands it out:

    template.yaml   the CloudFormation template
    rotation/       the rotation function's code (zipped by suite/deploy/packaging.py)
    labs/           the labs' SQL (labs/demouser.sql, labs/appuser.sql)
    docker/         the container: Dockerfile and the attendee's scripts
    app/            the lab's web app

Which folder: `--workshop DIR`, else SMDEMO_WORKSHOP_DIR, else this repository's `workshop/`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPOSITORY_WORKSHOP = Path(__file__).resolve().parent.parent / "workshop"
ENVIRONMENT_VARIABLE = "SMDEMO_WORKSHOP_DIR"
MEMBERS = ("template.yaml", "rotation", "labs", "docker", "app")


class NotAWorkshopFolder(ValueError):
    pass


@dataclass(frozen=True)
class WorkshopFolder:
    root: Path

    @property
    def template(self) -> Path:
        return self.root / "template.yaml"

    @property
    def rotation(self) -> Path:
        return self.root / "rotation"

    @property
    def labs(self) -> Path:
        return self.root / "labs"

    @property
    def docker(self) -> Path:
        return self.root / "docker"

    @property
    def app(self) -> Path:
        return self.root / "app"

    def relative(self, path: Path) -> str:
        """A path as the author knows it: relative to the workshop folder (e.g. docker/Dockerfile)."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def missing(self) -> list[str]:
        return [member for member in MEMBERS if not (self.root / member).exists()]


def workshop_folder() -> WorkshopFolder:
    """The workshop under test: the repository's workshop/, or the folder the run was pointed at."""
    return WorkshopFolder(Path(os.environ.get(ENVIRONMENT_VARIABLE) or REPOSITORY_WORKSHOP).resolve())


def point_at(directory: str) -> WorkshopFolder:
    """`--workshop DIR`: checked at once, so a wrong folder is one clear error before anything runs; the
    environment variable carries it to every process of the run (the local AWS, sub-pytest runs)."""
    folder = WorkshopFolder(Path(directory).expanduser().resolve())
    if not folder.root.is_dir():
        raise NotAWorkshopFolder(f"--workshop {directory}: no such directory")
    if not folder.template.is_file():
        raise NotAWorkshopFolder(f"--workshop {directory}: no template.yaml in {folder.root} (a workshop folder "
                                 f"holds {', '.join(MEMBERS)})")
    os.environ[ENVIRONMENT_VARIABLE] = str(folder.root)
    return folder
