"""Rooms, receptacles and objects of the procedural ALFRED-style tasks, as plain data.

Type names follow ALFRED (``AppleType``, ``FridgeType``...) so the problems work with the
``alfred.pddl`` domain and the ``alfred.twl2`` grammar shipped by ``alfworld``.
"""

from __future__ import annotations

__all__ = [
    "CATEGORIES",
    "RECEPTACLES",
    "ROOMS",
    "CLEANABLE",
    "HEATABLE",
    "COOLABLE",
    "LAMP_HOLDERS",
    "TASK_TYPES",
    "can_contain",
]

#: The six ALFWorld task types, in ALFWorld's numbering order.
TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

#: Object categories -> object types.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "food": ("Apple", "Tomato", "Potato", "Egg", "Bread", "Lettuce"),
    "dish": ("Mug", "Cup", "Plate", "Bowl", "Pan", "Pot"),
    "utensil": ("Knife", "Fork", "Spoon", "Spatula", "Ladle"),
    "condiment": ("SaltShaker", "PepperShaker"),
    "small": ("CellPhone", "CreditCard", "KeyChain", "Pen", "Pencil", "RemoteControl", "Watch"),
    "reading": ("Book", "Newspaper", "Laptop"),
    "decor": ("Vase", "Statue", "AlarmClock", "Box", "Candle"),
    "soft": ("Pillow",),
    "bath": ("SoapBar", "Cloth", "SprayBottle", "ToiletPaper", "SoapBottle", "DishSponge"),
}

CLEANABLE = frozenset(
    [
        "Apple",
        "Tomato",
        "Potato",
        "Egg",
        "Lettuce",
        "Mug",
        "Cup",
        "Plate",
        "Bowl",
        "Pan",
        "Pot",
        "Knife",
        "Fork",
        "Spoon",
        "Spatula",
        "Ladle",
        "SoapBar",
        "Cloth",
        "DishSponge",
    ]
)
HEATABLE = frozenset(["Apple", "Tomato", "Potato", "Egg", "Bread", "Mug", "Cup", "Plate"])
COOLABLE = frozenset(
    [
        "Apple",
        "Tomato",
        "Potato",
        "Egg",
        "Bread",
        "Lettuce",
        "Mug",
        "Cup",
        "Plate",
        "Bowl",
        "Pan",
        "Pot",
    ]
)

#: Receptacle type -> (openable, categories it can hold).
RECEPTACLES: dict[str, tuple[bool, tuple[str, ...]]] = {
    "CounterTop": (False, ("food", "dish", "utensil", "condiment", "small", "bath")),
    "Cabinet": (True, ("dish", "condiment", "bath", "decor")),
    "Drawer": (True, ("utensil", "small", "bath")),
    "Fridge": (True, ("food", "dish")),
    "Microwave": (True, ("food", "dish")),
    "SinkBasin": (False, ("food", "dish", "utensil", "bath")),
    "StoveBurner": (False, ("dish",)),
    "DiningTable": (False, ("food", "dish", "utensil", "condiment", "small", "reading", "decor")),
    "GarbageCan": (False, ("food", "small", "bath")),
    "Shelf": (False, ("dish", "condiment", "small", "reading", "decor", "bath")),
    "Sofa": (False, ("soft", "reading", "small")),
    "ArmChair": (False, ("soft", "reading", "small")),
    "CoffeeTable": (False, ("reading", "small", "decor")),
    "SideTable": (False, ("reading", "small", "decor")),
    "TVStand": (False, ("small", "decor")),
    "Dresser": (False, ("small", "decor", "reading")),
    "Desk": (False, ("small", "decor", "reading")),
    "Bed": (False, ("soft", "reading", "small")),
    "Safe": (True, ("small",)),
    "Toilet": (False, ("bath",)),
    "BathtubBasin": (False, ("bath",)),
}

#: Where a desk lamp can stand (ToggleObject needs the lamp inside a receptacle).
LAMP_HOLDERS = ("SideTable", "Desk", "Dresser")

#: Room -> (receptacle type -> (min, max) count, object categories found there).
ROOMS: dict[str, tuple[dict[str, tuple[int, int]], tuple[str, ...]]] = {
    "kitchen": (
        {
            "CounterTop": (1, 2),
            "Cabinet": (1, 3),
            "Drawer": (1, 2),
            "Fridge": (1, 1),
            "Microwave": (1, 1),
            "SinkBasin": (1, 1),
            "StoveBurner": (1, 1),
            "DiningTable": (0, 1),
            "GarbageCan": (1, 1),
            "Shelf": (0, 1),
        },
        ("food", "dish", "utensil", "condiment"),
    ),
    "livingroom": (
        {
            "Sofa": (1, 1),
            "ArmChair": (0, 1),
            "CoffeeTable": (1, 1),
            "SideTable": (1, 2),
            "TVStand": (1, 1),
            "Drawer": (1, 2),
            "Shelf": (1, 2),
            "GarbageCan": (1, 1),
            "Dresser": (0, 1),
        },
        ("small", "reading", "decor", "soft"),
    ),
    "bedroom": (
        {
            "Bed": (1, 1),
            "Desk": (1, 1),
            "SideTable": (1, 2),
            "Dresser": (1, 1),
            "Drawer": (1, 2),
            "Shelf": (0, 1),
            "GarbageCan": (1, 1),
            "Safe": (0, 1),
        },
        ("small", "reading", "decor", "soft"),
    ),
    "bathroom": (
        {
            "CounterTop": (1, 1),
            "SinkBasin": (1, 2),
            "Toilet": (1, 1),
            "Cabinet": (1, 3),
            "Drawer": (0, 2),
            "Shelf": (0, 1),
            "GarbageCan": (1, 1),
            "BathtubBasin": (0, 1),
        },
        ("bath",),
    ),
}


def can_contain(receptacle: str, obj: str) -> bool:
    """Whether a receptacle type can hold an object type.

    Example:
        >>> can_contain("Fridge", "Apple"), can_contain("Toilet", "Apple")
        (True, False)
    """
    _, categories = RECEPTACLES[receptacle]
    return any(obj in CATEGORIES[c] for c in categories)
