import pytest

from workbench.core.formatting import describe_result, format_endpoint, format_size, result_name


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (2, "2 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10 * 2**20, "10.0 MiB"),
        (2**30, "1.0 GiB"),
        (3 * 2**40, "3.0 TiB"),
    ],
)
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


def test_format_size_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_size(-1)


@pytest.mark.parametrize(
    ("host", "port", "text"),
    [
        ("127.0.0.1", 7, "127.0.0.1:7"),
        ("::1", 7, "[::1]:7"),
        ("[::1]", 7, "[::1]:7"),
        ("example.test", 443, "example.test:443"),
        ("example.test", None, "example.test"),
        (None, 7, ""),
        ("", 7, ""),
    ],
)
def test_format_endpoint(host: str | None, port: int | None, text: str) -> None:
    assert format_endpoint(host, port) == text


def test_result_words() -> None:
    assert describe_result(0) == "OK"
    assert describe_result(-102) == "-102 CONNECTION_REFUSED: nothing is listening on that port"
    assert result_name(-202) == "CERT_AUTHORITY_INVALID"
    assert result_name(0) == "OK"
