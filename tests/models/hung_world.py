"""Test model whose next_frames blocks forever when the prompt contains "hang" (step deadline)."""

import threading

import ithaca_model
import numpy as np


class HungWorld(ithaca_model.Model):
    name = "hung-world"

    def start(self, prompt, portrait, image):
        self.size = self.capabilities.size(portrait)
        return self.interact(prompt)

    def interact(self, prompt):
        self.prompt = prompt
        return prompt

    def next_frames(self):
        if "hang" in self.prompt:
            threading.Event().wait()  # never set: only SIGKILL ends this
        width, height = self.size
        return np.zeros((height, width, 3), np.uint8)
