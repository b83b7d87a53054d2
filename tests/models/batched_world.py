"""Batched test model: up to 4 sessions stepped together, each the colour of its own prompt."""

import hashlib

import ithaca_model
import numpy as np


def colour_of(prompt: str) -> np.ndarray:
    return np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], np.uint8)


class BatchedWorld(ithaca_model.BatchedModel):
    name = "batched-world"
    capabilities = ithaca_model.Capabilities(max_sessions=4)

    def load(self, ctx):
        self.colours = {}

    def start(self, session, prompt, portrait, image):
        return self.interact(session, prompt)

    def interact(self, session, prompt):
        self.colours[session] = colour_of(prompt)
        return prompt

    def next_frames(self, sessions):
        out = []
        for session in sessions:
            width, height = self.capabilities.size(session.portrait)
            out.append(np.broadcast_to(self.colours[session], (height, width, 3)))
        return out

    def end(self, session):
        del self.colours[session]
