"""Physics constants and fixed buffer sizes shared by the generator kernels.

Masses in GeV, lifetimes (c*tau) in mm (PDG 2024 values, rounded).
"""

from __future__ import annotations

M_H = 125.2
M_TOP = 172.5
GAMMA_TOP = 1.42
M_W = 80.37
GAMMA_W = 2.09
M_B = 4.8
M_C = 1.5

# hadrons: (mass, c*tau) ; species codes used in the per-jet ``hcode`` column
HCODE_NONE = 0
HCODE_B = 1  # B meson/baryon mix from a b quark
HCODE_B_GSPLIT = 2  # B from g -> bb splitting inside a gluon jet (softer)
HCODE_D0 = 3
HCODE_DPLUS = 4
HCODE_DS = 5
HCODE_LAMBDAC = 6
M_BHAD = 5.28
CTAU_B = 0.455  # mixture B0/B+/Bs/Lambda_b, ~1.52 ps
M_D = 1.87
CTAU_D = (0.123, 0.312, 0.151, 0.060)  # D0, D+, Ds, Lambda_c
M_KS = 0.4976
CTAU_KS = 26.84

# detector
ETA_TRACKER = 2.5
ETA_CALO = 4.7
JET_PT_MIN = 15.0  # stored small-R jets (GeV)
FATJET_PT_MIN = 170.0
FATJET_ETA_MAX = 2.4
FATJET_R = 0.8
JET_R = 0.4
TRACK_PT_MIN = 1.0
N_PILEUP = 60  # mean interactions per crossing (Run-3-like)
PU_JETS_PER_VERTEX = 0.04  # pileup jets above JET_PT_MIN per interaction

# fixed per-event buffer sizes (hard caps; the kernels never exceed them)
MAXP = 24  # partons
MAXJ = 24  # small-R jets
MAXF = 4  # large-R jets
MAXTRK = 30  # tracks per jet
MAXCON = 64  # constituents per large-R jet

# per-jet float columns of the event pass: pt, eta, phi, mass, x_had, dz (pileup vertex shift)
JF_PT, JF_ETA, JF_PHI, JF_MASS, JF_XHAD, JF_DZ = range(6)
N_JF = 6
# per-jet int columns: hadron flavour, parton flavour, is_pileup, hcode, n_had_tracks, n_frag
JI_HF, JI_PF, JI_PU, JI_HCODE, JI_NHAD, JI_NFRAG = range(6)
N_JI = 6
# per-fatjet float columns and int columns
FF_PT, FF_ETA, FF_PHI, FF_MASS, FF_MSD, FF_TAU21 = range(6)
N_FF = 6
FI_LABEL, FI_NCON, FI_NPRONG = range(3)
N_FI = 3
# prong table per fatjet: up to 3 prongs x (deta, dphi, momentum fraction, is_b)
MAXPRONG = 3
# truth columns
T_MHH, T_H1PT, T_H2PT, T_PTHAT = range(4)
N_T = 4
