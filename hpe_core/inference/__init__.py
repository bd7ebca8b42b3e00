"""Prediction: one verb over any dataset, the loaded model, and what a run reads and writes.

    predictor = Predictor("regressor.pt", device="auto")
    for batch in predict(predictor, dataset, rows, lift_from=None, hypotheses=0, progress=bar): ...
    report = evaluate(predictor, dataset, rows)           # what predict yields, scored
    run = collect(predict(predictor, dataset), predictor, source="clip.mp4"); run.save("out.npz")
"""

from hpe_core.inference.evaluate import evaluate
from hpe_core.inference.predict import Batch, predict
from hpe_core.inference.predictor import Predictor, checkpoint_image_size, fuse_batchnorm
from hpe_core.inference.run import PredictionRun, collect

__all__ = ["Batch", "PredictionRun", "Predictor", "checkpoint_image_size", "collect", "evaluate",
           "fuse_batchnorm", "predict"]
