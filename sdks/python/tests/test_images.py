"""start_stream(image=...) takes what the official SDK takes; each becomes a data URL."""

import base64

import numpy as np
import pytest

from ithaca.images import image_data_url, png_bytes

PNG = png_bytes(np.full((2, 3, 3), 7, np.uint8))


def decoded(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


def test_none_and_empty_mean_no_image():
    assert image_data_url(None) is None and image_data_url("") is None


def test_a_data_url_is_kept():
    assert image_data_url("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"


def test_bytes_a_path_and_an_array(tmp_path):
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    for image in (PNG, str(path)):
        url = image_data_url(image)
        assert url.startswith("data:image/png;base64,") and decoded(url) == PNG
    from_array = image_data_url(np.full((2, 3, 3), 7, np.uint8))
    assert decoded(from_array) == PNG
    assert image_data_url(b"\xff\xd8\xff\xe0rest").startswith("data:image/jpeg;base64,")


class FakePilImage:
    def save(self, buffer, format):  # PIL names it format
        assert format == "PNG"
        buffer.write(PNG)


def test_a_pil_image():
    assert decoded(image_data_url(FakePilImage())) == PNG


@pytest.mark.parametrize(
    "bad", ["/no/such/file.png", b"not an image", np.zeros((2, 2), np.uint8), 3.5]
)
def test_what_cannot_be_an_image_raises_value_error(bad):
    with pytest.raises(ValueError):
        image_data_url(bad)
