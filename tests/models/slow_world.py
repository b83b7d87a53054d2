"""Test model that declares 30 fps but makes only 10 frames a second (sleeps 0.1 s a frame)."""

import time

import ithaca_model
import numpy as np

FRAME_S = 0.1


class SlowWorld(ithaca_model.Model):
    name = "slow-world"
    capabilities = ithaca_model.Capabilities(fps=30)

    def start(self, prompt, portrait, image):
        width, height = self.capabilities.size(portrait)
        self.frame = np.full((height, width, 3), 128, np.uint8)
        return prompt

    def next_frames(self):
        time.sleep(FRAME_S)
        return self.frame
