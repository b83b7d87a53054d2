"""Test model that raises: in interact if the prompt has "boom", in next_frames on "crash-step"."""

import ithaca_model
import numpy as np


class RaisingWorld(ithaca_model.Model):
    name = "raising-world"

    def start(self, prompt, portrait, image):
        if "boom" in prompt:
            raise ValueError(f"the model refuses: {prompt}")
        self.size = self.capabilities.size(portrait)
        self.prompt = prompt
        return prompt

    def interact(self, prompt):
        if "boom" in prompt:
            raise ValueError(f"the model refuses: {prompt}")
        self.prompt = prompt
        return prompt

    def next_frames(self):
        if "crash-step" in self.prompt:
            raise RuntimeError(f"the model crashed stepping: {self.prompt}")
        width, height = self.size
        return np.zeros((height, width, 3), np.uint8)
