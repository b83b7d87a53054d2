"""Test model that returns a 100x100x3 frame (the wrong size) when the prompt contains "bad"."""

import ithaca_model
import numpy as np


class BadShapeWorld(ithaca_model.Model):
    name = "bad-shape-world"

    def start(self, prompt, portrait, image):
        self.size = self.capabilities.size(portrait)
        return self.interact(prompt)

    def interact(self, prompt):
        self.prompt = prompt
        return prompt

    def next_frames(self):
        if "bad" in self.prompt:
            return np.zeros((100, 100, 3), np.uint8)
        width, height = self.size
        return np.zeros((height, width, 3), np.uint8)
