"""AA-CLIP's prompts and the object names its reference code uses per category.

Sentences are formatted literally, state first, then template, in this order
(so "a {} with flaw" for "object" gives "a photo of a object with flaw.", as
the reference encodes it).
"""

from __future__ import annotations

NORMAL_STATES = ("{}", "a {}", "the {}")
ABNORMAL_STATES = ("a damaged {}", "a broken {}", "a {} with flaw", "a {} with defect", "a {} with damage")
TEMPLATES = ("{}.", "a photo of {}.")

#: dataset/constants.py REAL_NAMES of the reference: category folder -> the words its prompts use
REFERENCE_OBJECT_NAMES = {
    # MVTec AD
    "bottle": "dark bottle",
    "cable": "top view of three cables",
    "capsule": "black and orange capsule",
    "carpet": "gray carpet",
    "grid": "metal or plastic mesh",
    "hazelnut": "single brown hazelnut",
    "leather": "brown leather",
    "metal_nut": "metal nut which has four notched edges",
    "pill": "oval white pill with small red speckles and the letters 'FF' engraved",
    "screw": "screw",
    "tile": "speckled tile surface",
    "transistor": "a three-legged transistor placed vertically",
    "toothbrush": "toothbrush head",
    "wood": "wood surface",
    "zipper": "a black zipper",
    # VisA
    "candle": "candle",
    "pcb3": "infrared sensor pcb module",
    "capsules": "capsules",
    "pipe_fryum": "pipe-shaped fryum",
    "pcb4": "battery charging pcb module",
    "macaroni2": "scattered yellow macaroni",
    "pcb2": "integrated circuits board",
    "chewinggum": "chewing gum",
    "macaroni1": "orange macaroni",
    "cashew": "cashew nut",
    "fryum": "wheel-shaped fryum snack",
    "pcb1": "dual ultrasonic distance sensor pcb module",
    # MPDD
    "connector": "metal clamps with black adjustment knobs",
    "tubes": "scattered metal objects",
    "metal_plate": "blue rectangular metal plate with a notch on one side",
    "bracket_white": "white, elongated triangular metal bracket with a smooth, matte finish",
    "bracket_brown": "brown L-shaped metal bracket with smooth, glossy finish and multiple mounting holes along its arms",
    "bracket_black": "black ornamental metal bracket with spiral design attached to a rectangular frame",
    # medical sets
    "Brain": "scan",
    "Liver": "scan",
    "Retina": "scan",
    "Colon_clinicDB": "colon endoscopy image",
    "Colon_colonDB": "colon endoscopy image",
    "CVC-300": "colon endoscopy image",
    "Kvasir": "colon endoscopy image",
}


def object_name_for(category: str | None, default: str = "object") -> str:
    """The words the prompts use for a sample's category: the reference's own
    name for a benchmark category, else the folder name in plain words."""
    if not category:
        return default
    return REFERENCE_OBJECT_NAMES.get(category, category.replace("_", " "))


def state_sentences(states: tuple[str, ...], object_name: str) -> list[str]:
    return [template.format(state.format(object_name)) for state in states for template in TEMPLATES]
