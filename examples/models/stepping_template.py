"""Template: a stepping world model (set_prompt / gen_frame / reset) behind ithaca_model.Model.

Run: python -m ithaca_model examples.models.stepping_template:SteppingWorld (from the repo root).
Replace StandInStepper with your model's object; the ten lines of SteppingWorld stay as they are.
"""

import hashlib

import ithaca_model
import numpy as np


class StandInStepper:
    """Stands in for an open autoregressive world model's stepping API: one frame per call."""

    def __init__(self, width: int, height: int):
        self.frame = np.zeros((height, width, 3), np.uint8)

    def set_prompt(self, prompt: str) -> None:
        self.frame[:] = np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], np.uint8)

    def gen_frame(self) -> np.ndarray:
        return self.frame

    def reset(self) -> None:
        self.frame[:] = 0


class SteppingWorld(ithaca_model.Model):
    name = "stepping-template"

    def start(self, prompt, portrait, image):
        self.stepper = StandInStepper(*self.capabilities.size(portrait))
        self.stepper.reset()
        return self.interact(prompt)

    def interact(self, prompt):
        self.stepper.set_prompt(prompt)
        return prompt

    def next_frames(self):
        return self.stepper.gen_frame()

    def end(self):
        self.stepper.reset()


if __name__ == "__main__":
    ithaca_model.serve(SteppingWorld)
