"""Test model with params seed (int) and guidance (float): pixel = (seed % 256, guidance*10, 7)."""

import ithaca_model
import numpy as np
from ithaca_model import Param


class ParamsWorld(ithaca_model.Model):
    name = "params-world"
    capabilities = ithaca_model.Capabilities(
        params={
            "seed": Param(int, minimum=0, maximum=2**31 - 1),
            "guidance": Param(float, minimum=0, maximum=20),
        }
    )

    def start(self, prompt, portrait, image, params):
        width, height = self.capabilities.size(portrait)
        seed = params.get("seed", 0)
        guidance = params.get("guidance", 0.0)
        self.frame = np.full(
            (height, width, 3), (seed % 256, round(guidance * 10) % 256, 7), np.uint8
        )
        return prompt

    def next_frames(self):
        return self.frame
