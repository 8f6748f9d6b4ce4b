"""``.radium/pricing.toml`` read in full: every spelling TOML allows gives the same prices, and
every mistake is one line naming the file, the line where the mistake is and what is wrong
(issue 20: the reader's messages and line numbers survived mutation).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from test_pricing import write_pricing

from radium_otel._internal.pricing import PriceOverride, PricingError, load_overrides

KNOWN = "input, output, cache_read, cache_write, cache_write_1h, provider"
RATE = "must be a non-negative number (USD per million tokens), not"
TOP = """prices go in [models."<model>"] tables"""


@pytest.mark.parametrize(
    "text",
    [
        '[models."acme-2"]\ninput = 0.1\noutput = 3\ncache_read = 0\nprovider = " acme "\n',
        "[models.'acme-2']\n'input' = 0.1\n\"output\" = 3\ncache_read = 0.0\nprovider = 'acme'\n",
        "# prices\n[ models . acme-2 ]\ninput=0.1\noutput=3e0\ncache_read=0\nprovider='acme'\n",
        "[models]\nacme-2.input = 0.1\nacme-2.output = 3\nacme-2.cache_read = 0\n"
        "acme-2.provider = 'acme'\n",
        'models = { "acme-2" = { input = 0.1, output = 3, cache_read = 0, provider = "acme" } }\n',
    ],
)
def test_every_spelling_of_a_price_reads_the_same(tmp_path: Path, text: str) -> None:
    overrides = load_overrides(write_pricing(tmp_path, text))

    assert overrides == (
        PriceOverride("acme-2", Decimal("0.1"), Decimal(3), cache_read=Decimal(0), provider="acme"),
    )
    assert str(overrides[0].input) == "0.1"  # the decimal written, not the nearest binary float


def test_every_rate_and_several_models_in_order(tmp_path: Path) -> None:
    text = (
        '[models."b"]\ninput = 3\noutput = 15\ncache_read = 0.3\ncache_write = 3.75\n'
        'cache_write_1h = 6\n\n[models."a"]\ninput = 1_000\noutput = 0\n'
    )

    assert load_overrides(write_pricing(tmp_path, text)) == (
        PriceOverride(
            "b",
            Decimal(3),
            Decimal(15),
            cache_read=Decimal("0.3"),
            cache_write=Decimal("3.75"),
            cache_write_1h=Decimal(6),
        ),
        PriceOverride("a", Decimal(1000), Decimal(0)),
    )


def test_a_file_without_models_has_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(write_pricing(tmp_path, "# nothing yet\n")) == ()
    assert load_overrides(write_pricing(tmp_path, "[models]\n")) == ()


NEEDS = "(USD per million tokens)"
NOT_A_TABLE = 'models."x" must be a table of prices'
NO_PROVIDER = 'models."x".provider must be a provider name'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # Top-level keys: assigned, dotted, a table, an array of tables, after comments.
        ("# EUR\ncurrency = 'EUR'\n", 2, f"unknown key 'currency': {TOP}"),
        ("\ncurrency.code = 'EUR'\n", 2, f"unknown key 'currency': {TOP}"),
        ("[models]\n[currency]\ncode = 1\n", 2, f"unknown key 'currency': {TOP}"),
        ("\n[[currency]]\ncode = 1\n", 2, f"unknown key 'currency': {TOP}"),
        ("# models = []\nmodels = 3\n", 2, '"models" must be a table of [models."<model>"] tables'),
        # A model that is not a table: under [models], after a comment naming it, beside
        # a model whose name holds its name.
        ("# x is ours\n[models]\nx = 3\n", 3, NOT_A_TABLE),
        ("[models]\nxx = { input = 1, output = 1 }\nx = 3\n", 3, NOT_A_TABLE),
        # A missing rate: the model's table, wherever it is and however its name is quoted.
        ('[models."y"]\ninput = 1\noutput = 1\n\n[models."x"]\ninput = 1\n', 5,
         f"""models."x" needs 'output' {NEEDS}"""),
        ("\n\n[models.x]\noutput = 1\n", 3, f"""models."x" needs 'input' {NEEDS}"""),
        ("[models.'x']\ninput = 1\n", 1, f"""models."x" needs 'output' {NEEDS}"""),
        ("[models]\nx.output = 1\n", 2, f"""models."x" needs 'input' {NEEDS}"""),
        # A bad rate: the line that sets it, however it is set.
        ('[models."x"]\ninput = 1\noutput = "cheap"\n', 3,
         f"""models."x".output {RATE} 'cheap'"""),
        ('[ models . "x" ]\noutput = 1\n# input = 1\n"input" = -2\n', 4,
         f'models."x".input {RATE} -2'),
        ("[models.x]\n  'input' = true\noutput = 1\n", 2, f'models."x".input {RATE} True'),
        ('[models."x"]\ninput = nan\noutput = 1\n', 2, f'models."x".input {RATE} nan'),
        ('[models."x"]\ninput = 1\noutput = -inf\n', 3, f'models."x".output {RATE} -inf'),
        ("[models]\nx.output = 1\nx.input = 'a'\n", 3, f"""models."x".input {RATE} 'a'"""),
        ("  # x.input = 2 was too low\n[models]\nx.input = 'a'\nx.output = 1\n", 3,
         f"""models."x".input {RATE} 'a'"""),
        ('[models."y"]\ninput = 1\noutput = 1\n[models."x"]\ninput = "a"\noutput = 1\n', 5,
         f"""models."x".input {RATE} 'a'"""),
        # ... set as a sub-table after another model's table that sets the same key.
        ('[models."x"]\noutput = 1\n\n  [models."y"]\ninput = 1\noutput = 1\n\n'
         '[models."x".input]\na = 1\n', 8, f"""models."x".input {RATE} {{'a': 1}}"""),
        ("models = { x = { input = 1, output = [1] } }\n", 1, f'models."x".output {RATE} [1]'),
        # Unknown keys in a model: a plain key, a key of a sub-table, a sub-table of its own.
        ('[models."x"]\ninput = 1\noutput = 1\ncache_reads = 0.1\n', 4,
         f'unknown key models."x".cache_reads (known: {KNOWN})'),
        ('[models."x"]\ninput = 1\noutput = 1\nextra.a = 1\n', 4,
         f'unknown key models."x".extra (known: {KNOWN})'),
        ('[models."x"]\ninput = 1\noutput = 1\n\n[models."x".extra]\na = 1\n', 5,
         f'unknown key models."x".extra (known: {KNOWN})'),
        ("models = { y = { input = 1, outptu = 2 } }\n", 1,
         f'unknown key models."y".outptu (known: {KNOWN})'),
        # The provider and the 1-hour cache write.
        ('[models."x"]\ninput = 1\noutput = 1\nprovider = 3\n', 4, NO_PROVIDER),
        ("[models.y]\ninput = 1\noutput = 1\nprovider = 'acme'\n"
         "[models.x]\ninput = 1\noutput = 1\nprovider = '  '\n", 8, NO_PROVIDER),
        ('[models."x"]\ninput = 1\noutput = 1\ncache_write_1h = 2\n', 4,
         'models."x".cache_write_1h needs cache_write too'),
        ('[models."y"]\ninput = 1\noutput = 1\ncache_write = 1\ncache_write_1h = 2\n'
         '[models."x"]\ninput = 1\noutput = 1\ncache_write_1h = 2\n', 9,
         'models."x".cache_write_1h needs cache_write too'),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_naming_the_file_and_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write_pricing(tmp_path, text)

    with pytest.raises(PricingError) as info:
        load_overrides(path)

    assert str(info.value) == f"{path}, line {line}: {message}"


def test_a_mistake_whose_line_cannot_be_found_names_the_file(tmp_path: Path) -> None:
    # The key is spelt with an escape: no line of the file spells "currency".
    path = write_pricing(tmp_path, '"cur\\u0072ency" = "EUR"\n')
    with pytest.raises(PricingError) as info:
        load_overrides(path)
    assert str(info.value) == f"{path}: unknown key 'currency': {TOP}"


def test_toml_syntax_errors_and_unreadable_files_name_the_file(tmp_path: Path) -> None:
    path = write_pricing(tmp_path, '[models."x"]\ninput = 1\noutput =\n')
    with pytest.raises(PricingError) as info:
        load_overrides(path)
    assert str(info.value) == f"{path}: Invalid value (at line 3, column 9)"

    path.write_bytes(b'[models."x"]\ninput = 1 # \xff\n')
    with pytest.raises(PricingError) as info:
        load_overrides(path)
    assert str(info.value) == (
        f"{path}: cannot read: 'utf-8' codec can't decode byte 0xff in position 25: "
        "invalid start byte"
    )

    path.unlink()
    path.mkdir()
    with pytest.raises(PricingError) as info:
        load_overrides(path)
    assert str(info.value) == f"{path}: cannot read: [Errno 21] Is a directory: '{path}'"
