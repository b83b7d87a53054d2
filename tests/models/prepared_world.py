"""Transport benchmark model: the prompt's colour is painted once per prompt; a step returns that
prepared frame, so what a step costs is the runtime and the copy into shared memory."""

import hashlib

import ithaca_model
import numpy as np


class PreparedWorld(ithaca_model.Model):
    name = "prepared-world"
    version = "1"
    capabilities = ithaca_model.Capabilities()

    def start(self, prompt, portrait, image):
        width, height = self.capabilities.size(portrait)
        self.frame = np.empty((height, width, 3), np.uint8)
        return self.interact(prompt)

    def interact(self, prompt):
        self.frame[:] = np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], np.uint8)
        return prompt

    def next_frames(self):
        return self.frame
