"""A real image of two people for the tests of person boxes (issue 27): scikit-image's astronaut
(Eileen Collins) and cameraman photos side by side, 512 x 1024, as a COCO keypoints file with
each person's box and a few keypoints read off the photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# per person: its bbox (x, y, w, h) and COCO keypoints {index: (x, y)} px of the side-by-side image
PEOPLE = [{"bbox": [20, 15, 345, 497], "keypoints": {0: (222, 120), 1: (245, 103), 2: (200, 103),
                                                      5: (320, 250), 6: (80, 250)}},
          {"bbox": [512, 65, 330, 447], "keypoints": {0: (752, 160), 1: (735, 140), 6: (620, 180)}}]


def write_two_people(root: Path) -> Path:
    """``root`` holding ``images/two.png`` and ``annotations/person_keypoints_val.json``."""
    import cv2
    from skimage import data

    image = np.concatenate([data.astronaut(), np.repeat(data.camera()[..., None], 3, axis=2)], axis=1)
    (root / "images").mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "two.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    annotations = []
    for k, person in enumerate(PEOPLE):
        kps = np.zeros((17, 3))
        for j, (x, y) in person["keypoints"].items():
            kps[j] = (x, y, 2)
        annotations.append({"id": 10 + k, "image_id": 7, "category_id": 1, "iscrowd": 0, "bbox": person["bbox"],
                            "keypoints": kps.reshape(-1).tolist(), "num_keypoints": len(person["keypoints"])})
    doc = {"images": [{"id": 7, "file_name": "two.png", "width": 1024, "height": 512}],
           "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    (root / "annotations").mkdir()
    (root / "annotations" / "person_keypoints_val.json").write_text(json.dumps(doc))
    return root
