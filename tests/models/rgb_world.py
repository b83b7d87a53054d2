"""Fast test model: a solid colour from a hash of the prompt, a gradient moving along the bottom."""

import hashlib

import ithaca_model
import numpy as np

BAND = 32  # rows at the bottom holding the gradient; the rest is the prompt's colour
SPEED = 8  # gradient shift per frame, in pixels


def colour_of(prompt: str) -> np.ndarray:
    return np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], np.uint8)


class RgbWorld(ithaca_model.Model):
    name = "rgb-world"
    version = "1"
    capabilities = ithaca_model.Capabilities(landscape=(1280, 704), portrait=(704, 1280), fps=30)

    def start(self, prompt, portrait, image):
        width, height = self.capabilities.size(portrait)
        self.frame = np.empty((height, width, 3), np.uint8)
        self.ramp = (np.arange(width) % 256).astype(np.uint8)
        self.t = 0
        return self.interact(prompt)

    def interact(self, prompt):
        self.colour = colour_of(prompt)
        return prompt

    def next_frames(self):
        self.frame[:-BAND] = self.colour
        self.frame[-BAND:] = np.roll(self.ramp, self.t * SPEED)[None, :, None]
        self.t += 1
        return self.frame
