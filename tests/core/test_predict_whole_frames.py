"""``hpe predict`` says it plainly when a single-person image model sees whole frames (issue 29,
item 13): one real image of two people, read whole (``--crop none``) and by its COCO boxes."""

from pathlib import Path

from hpe_core.cli import main
from two_people import write_two_people

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
WARNING = "warning     the model predicts one person from each whole frame"


def test_hpe_predict_warns_when_a_single_person_model_sees_whole_frames(tmp_path, capsys):
    two = write_two_people(tmp_path / "two")
    for crop, warned in (("none", True), ("auto", False)):
        capsys.readouterr()
        assert main(["predict", str(DEMO / "heatmap2d.pt"), str(two), "--out", str(tmp_path / f"{crop}.json"),
                     "--device", "cpu", "--crop", crop]) == 0
        out = capsys.readouterr().out
        assert (WARNING in out) == warned, out
        assert ("crop        whole frame (no person boxes)" in out) == warned
