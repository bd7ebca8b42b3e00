"""How the current sample is drawn: evented fields (psygnal), one signal per option."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from psygnal import evented

from app.model.sample_data import ALIGN_MODES  # noqa: F401 - the choices of ``align``


@evented
@dataclass
class ViewOptions:
    """``options.events.<name>`` fires with the new value when a field changes (only then)."""

    align: str = "none"  # one of ALIGN_MODES: how the prediction is aligned to the ground truth
    frustums: bool = True  # the dataset's camera frustums in the 3D view
    show_gt: bool = True
    show_pred: bool = True
    hypotheses: int = 10  # K sampled hypotheses drawn around the mean (a vae_lifter checkpoint); 0: none
    parts: str = ""  # the part maps over the image: "" off, else whose 2D ("ground truth", "prediction")
    heatmap: str | int = "all"  # a 2D model's heatmaps over the image: "off", "all" or one joint's index
    protocol: str = "standard"  # whose per-sample measure the browser's error column shows (hpe_core.protocols)

    def as_dict(self) -> dict:
        return asdict(self)

    def update(self, values: dict) -> None:
        """Set the known fields of ``values`` (a workspace file's); unknown names are ignored."""
        names = {f.name for f in fields(self)}
        for name, value in values.items():
            if name in names:
                setattr(self, name, value)
