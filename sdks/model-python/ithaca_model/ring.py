"""The shared-memory slots: the `ring` memfd mapped with mmap, and which slots are free."""

import mmap
import os

import numpy as np


class Ring:
    def __init__(self, fd: int, slots: int, slot_bytes: int):
        size = slots * slot_bytes
        if slots < 1 or slot_bytes < 1:
            raise ValueError(f"ring of {slots} slots of {slot_bytes} bytes")
        have = os.fstat(fd).st_size
        if have < size:
            raise ValueError(f"ring memfd has {have} bytes, {slots} x {slot_bytes} = {size} needed")
        self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.slots = slots
        self.slot_bytes = slot_bytes
        self._free = list(range(slots))

    def take(self) -> int | None:
        """A free slot, now the streamer's once named in a frame; None when all are out."""
        return self._free.pop(0) if self._free else None

    def release(self, slot: int) -> None:
        if not 0 <= slot < self.slots or slot in self._free:
            raise ValueError(f"release of slot {slot}, which is not out")
        self._free.append(slot)

    def view(self, slot: int, height: int, width: int) -> np.ndarray:
        """The slot's first height x width x 3 bytes as a writable array."""
        count = height * width * 3
        if count > self.slot_bytes:
            raise ValueError(f"{width}x{height} frame does not fit a {self.slot_bytes}-byte slot")
        array = np.frombuffer(self._map, np.uint8, count, slot * self.slot_bytes)
        return array.reshape(height, width, 3)
