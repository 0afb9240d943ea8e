"""Groups of forenames that refer to the same person (formal name first).

A pair of forenames is a nickname match when both names share a group.
Names are in normalised form (lower case, no accents or hyphens).
"""

from __future__ import annotations

_GROUPS = """
william bill billy will willy liam wills
robert bob bobby rob robbie robin bert
richard rick ricky rich richie dick
edward ed eddie ted teddy ned
alfred alfie alf fred
frederick fred freddie freddy
alexander alex alec sandy xander
alexandra alex alexa lexi sandra
andrew andy drew
anthony tony ant
benjamin ben benny benji
charles charlie chas chuck
christopher chris kit topher
daniel dan danny
david dave davey
thomas tom tommy
james jim jimmy jamie
john jack johnny jon
jonathan jon jonny
joseph joe joey
joshua josh
matthew matt matty
michael mike mikey mick micky
nicholas nick nicky
oliver ollie olly
patrick pat paddy
peter pete
samuel sam sammy
stephen steve stevie
steven steve stevie
theodore theo ted teddy
timothy tim timmy
zachary zach zac zack
nathaniel nathan nate nat
nathan nate nat
gabriel gabe
jacob jake jakey
harrison harry
henry harry hal hank
archibald archie
archie arch
lucas luke
reginald reggie reg
ronald ronnie ron
albert albie bert bertie
sebastian seb
tobias toby
francis frank frankie
frankie francesca frances
leonard leo len lenny
kenneth ken kenny
gregory greg
mohammed muhammad mohammad mohamed muhammed
elizabeth liz lizzie lizzy beth betty bess eliza libby elsie
katherine kate katie kathy kath kat kitty catherine kathryn
catherine cath cathy kate katie
margaret maggie meg peggy madge maisie
victoria vicky tori
rebecca becky becca
jennifer jen jenny
samantha sam sammie
abigail abbie abby
isabella bella izzy isabel isabelle
isabelle izzy bella
amelia millie amy
emily emmy em millie
charlotte lottie charlie lotte
florence flo flossie
eleanor ellie nell nelly
elena ellie
matilda tilly tilda
harriet hattie hetty
penelope penny
josephine josie jo
jessica jess jessie
natalie nat
nicola nicky
deborah debbie deb
susan sue susie
dorothy dot dottie
winifred winnie
georgina georgie gina
olivia liv livvy
sophia sophie
sophie soph
evelyn evie
genevieve evie
gwendolyn gwen
phoebe phebe
zoe zoey
""".strip().splitlines()

NICKNAME_GROUPS: dict[str, frozenset[int]] = {}
for _group_id, _line in enumerate(_GROUPS):
    for _name in _line.split():
        NICKNAME_GROUPS[_name] = NICKNAME_GROUPS.get(_name, frozenset()) | {_group_id}


def are_nicknames(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` (normalised, different) share a nickname group."""
    groups = NICKNAME_GROUPS.get(a)
    return bool(groups) and bool(groups & NICKNAME_GROUPS.get(b, frozenset()))
