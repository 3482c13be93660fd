import pytest

from workbench.core.options import KEEP_ALIVE, MAX_KEEP_ALIVE_DELAY, NO_DELAY, OPTIONS


def test_every_option_is_listed_by_name() -> None:
    assert OPTIONS == {"keep_alive": KEEP_ALIVE, "no_delay": NO_DELAY}
    assert (KEEP_ALIVE.method, NO_DELAY.method) == ("setKeepAlive", "setNoDelay")
    assert KEEP_ALIVE.default == (True, 45) and NO_DELAY.default == (True,)


def test_arguments_are_checked_and_completed() -> None:
    assert KEEP_ALIVE.check([True, 30]) == (True, 30)
    assert KEEP_ALIVE.check([False]) == (False, 45)
    assert KEEP_ALIVE.check([True, MAX_KEEP_ALIVE_DELAY]) == (True, 32767)
    with pytest.raises(ValueError, match=r"delay must be 0\.\.32767 seconds, not 32768"):
        KEEP_ALIVE.check([True, 32768])
    with pytest.raises(TypeError, match="enable must be a bool"):
        KEEP_ALIVE.check([1, 30])
    with pytest.raises(TypeError, match="delay must be an int"):
        KEEP_ALIVE.check([True, "x"])
    with pytest.raises(ValueError, match="takes 1 arguments, not 2"):
        NO_DELAY.check([True, True])
