"""Test model returning a chunk of 4 frames per step: the prompt's colour; the 16x16 block at the
bottom right is grey level 60 * i for frame i of the chunk (clear of the frame marker)."""

import hashlib

import ithaca_model
import numpy as np

CHUNK = 4


class ChunkedWorld(ithaca_model.Model):
    name = "chunked-world"
    capabilities = ithaca_model.Capabilities()

    def start(self, prompt, portrait, image):
        self.size = self.capabilities.size(portrait)
        return self.interact(prompt)

    def interact(self, prompt):
        self.colour = np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], np.uint8)
        return prompt

    def next_frames(self):
        width, height = self.size
        chunk = [np.empty((height, width, 3), np.uint8) for _ in range(CHUNK)]
        for i, frame in enumerate(chunk):
            frame[:] = self.colour
            frame[-16:, -16:] = 60 * i
        return chunk
