"""The learning chip's report rows for a chip that converts READ on chip: a conversion
that did not complete shows as such, and DOUT's reading is set against READ inside."""

from __future__ import annotations

from twinedge.reports.cl_report import _on_chip_rows, _readout_rows, _readout_summary

READOUT = {"summary": {"read_at_g_v": {"1.0": 0.2}, "gain_g_1v": 0.8,
                       "g_min_readable_v": {"tt": 0.9}, "corner_spread_at_g_1v": 0.01,
                       "mc_sigma_at_g_1v": 0.003, "output_offset_v": 1.2,
                       "output_gain": 0.8, "output_plus_minus_max_diff_v": 1e-4,
                       "kick_selected_v": 1e-4, "kick_after_v": 1e-6,
                       "settle_s": 1e-6}}  # fmt: skip
SLOPE = {"corner_max_error_v": {"tt": 0.0047, "ss": 0.0044}, "corner_lsb_v": {"tt": 0.0072,
         "ss": 0.0057}, "full_scale_s": 2.45e-6}  # fmt: skip


def test_a_reading_out_of_range_and_dout_against_read_inside() -> None:
    chip = {"g_transistor": [[1.15], [1.16]], "read_g_v": [0.252, None],
            "read_net_v": [0.250, 0.26]}  # fmt: skip
    rows = dict(_readout_rows(_readout_summary(READOUT, chip, SLOPE)))
    assert rows["chip transient: edge 0's G -> READ from DOUT after each step (V)"] == (
        "1.150->0.252, 1.160->out of range"
    )
    assert rows["chip transient: DOUT's reading against READ inside the chip"] == "within 2 mV"
    assert "4.7 mV" in rows["digital read-out (READ as DOUT's edge time), over corners"]
    # a chip whose READ is a pin: no digital rows, READ as read
    plain = dict(_readout_rows(_readout_summary(READOUT, {**chip, "read_g_v": [0.2, 0.3],
                                                          "read_net_v": None})))  # fmt: skip
    assert plain["chip transient: edge 0's G -> READ after each step (V)"] == (
        "1.150->0.200, 1.160->0.300"
    )
    assert not any("DOUT" in k for k in plain)


def test_on_chip_rows_list_the_taps_the_buffers_and_the_reset() -> None:
    own = {"taps_v": {"VLABEL": 0.087, "VRESET": 2.1}, "buffered_rails": ["VIN_HI"],
           "reset": {"t_discharge": 4.5e-5, "t_charge": 4e-6, "vreset": 2.1}}  # fmt: skip
    rows = dict(_on_chip_rows(own))
    assert rows["made on chip from VDPWR: the ladder's taps"] == "VLABEL 0.087 V, VRESET 2.1 V"
    assert "VRESET 2.1 V" in rows["  the reset it taps VRESET for"]
    assert _on_chip_rows(None) == []
