"""People of the synthetic world: stable keys, opaque ids, names and birth years.

Every person has an integer *key* whose range says who they are (for the generators only); the id written to the
data is an opaque hash of the key, so nothing in the data reveals a person's role.

- ``LOCAL + business_index * 4 + k``: the k-th ordinary officer/owner of one business;
- ``SERIAL + j``: legitimate people with many directorships (entrepreneurs, family firms, agents' nominees);
- ``GROUP + group_id * 8 + k``: members and nominees of crime group ``group_id``;
- ``LOCAL + 600_000_000_000 + business_index * 64 + m``: further people of one business (later directors,
  shareholders who are not directors).

Names are drawn from one pool for everyone, crime-group members included: a name, like nationality, must never
carry the signal (it would teach a model a protected characteristic).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskmodel.synth.rand import hash_hex, hash_uniform

__all__ = ["GROUP", "LOCAL", "SERIAL", "birth_years", "countries_of_residence", "nationalities", "person_ids",
           "person_names"]

LOCAL = 1_000_000_000_000
SERIAL = 2_000_000_000_000
GROUP = 3_000_000_000_000

FIRST = np.array([
    "James", "John", "David", "Robert", "Michael", "William", "Andrew", "Paul", "Mark", "Stephen", "Scott", "Craig",
    "Gary", "Kevin", "Ian", "Alan", "Graham", "Stuart", "Iain", "Ross", "Jamie", "Ryan", "Liam", "Connor", "Callum",
    "Mohammed", "Ahmed", "Ali", "Imran", "Arjun", "Wei", "Tomasz", "Piotr", "Marco", "Luca", "Andrei", "Kwame",
    "Mary", "Margaret", "Elizabeth", "Karen", "Susan", "Fiona", "Lorna", "Alison", "Gillian", "Claire", "Nicola",
    "Lisa", "Emma", "Laura", "Sarah", "Rachel", "Amy", "Kirsty", "Lauren", "Eilidh", "Fatima", "Aisha", "Priya",
    "Mei", "Anna", "Agnieszka", "Giulia", "Elena", "Amara", "Siobhan", "Catriona", "Morag", "Heather", "Jennifer",
    "Thomas", "Christopher", "Daniel", "Matthew", "Peter", "Richard", "Neil", "Colin", "Derek", "Brian", "Gordon",
    "Kenneth", "Martin", "Barry", "Douglas", "Euan", "Fraser", "Hamish", "Kieran", "Lewis", "Murray", "Niall",
    "Rory", "Sean", "Hassan", "Usman", "Bilal", "Ravi", "Sanjay", "Jun", "Hao", "Marek", "Pawel", "Stefan",
    "Helen", "Julie", "Angela", "Shona", "Kerry", "Donna", "Joanne", "Linda", "Pamela", "Ruth", "Sheena", "Yvonne",
    "Zoe", "Hannah", "Chloe", "Rebecca", "Megan", "Ayesha", "Sana", "Maryam", "Lin", "Ewa", "Katarzyna", "Chiara",
])
LAST = np.array([
    "Smith", "Brown", "Wilson", "Campbell", "Stewart", "Thomson", "Robertson", "Anderson", "MacDonald", "Scott",
    "Reid", "Murray", "Taylor", "Clark", "Ross", "Watson", "Morrison", "Paterson", "Young", "Mitchell", "Walker",
    "Fraser", "Miller", "McDonald", "Gray", "Henderson", "Hamilton", "Johnston", "Duncan", "Graham", "Ferguson",
    "Kerr", "Davidson", "Bell", "Cameron", "Kelly", "Martin", "Hunter", "Allan", "Mackenzie", "Grant", "Simpson",
    "MacLeod", "Black", "Russell", "Marshall", "Wallace", "Gibson", "Kennedy", "Gordon", "McLean", "Rennie",
    "Cowie", "Docherty", "McGregor", "Sinclair", "Boyle", "Quinn", "O'Neill", "Gallacher", "Khan", "Ahmed", "Ali",
    "Hussain", "Singh", "Patel", "Chen", "Wang", "Li", "Nowak", "Kowalski", "Wisniewski", "Rossi", "Russo",
    "Popescu", "Mensah", "Okafor", "Nguyen", "Sharma", "Malik", "Aitken", "Baird", "Barr", "Blair", "Brodie",
    "Buchanan", "Burns", "Cairns", "Craig", "Crawford", "Cunningham", "Dalziel", "Dick", "Dickson", "Donald",
    "Dunlop", "Elliot", "Forbes", "Forsyth", "Galbraith", "Geddes", "Gillespie", "Glen", "Gow", "Hay", "Hogg",
    "Hutchison", "Imrie", "Inglis", "Jack", "Jamieson", "Keir", "Laing", "Lamont", "Lindsay", "Logan", "Lyon",
    "McBride", "McCallum", "McColl", "McCormack", "McDougall", "McFarlane", "McIntosh", "McKay", "McKenzie",
    "McLaren", "McMillan", "McPherson", "Milne", "Moffat", "Muir", "Munro", "Neilson", "Nicol", "Ogilvie", "Park",
    "Pollock", "Ramsay", "Rankin", "Ritchie", "Shaw", "Sutherland", "Tait", "Urquhart", "Waddell", "Weir", "Wylie",
    "Yule", "Iqbal", "Rashid", "Butt", "Kaur", "Gill", "Zhang", "Liu", "Huang", "Zielinski", "Lewandowski",
    "Esposito", "Bianchi", "Ionescu", "Adeyemi", "Boateng", "Tran", "Gupta", "Chaudhry", "Begum",
])
MIDDLE = np.array(["", "", "", "", "Alexander", "John", "James", "Thomas", "Marie", "Anne", "Louise", "David"])
_NATIONALITIES = np.array(["British", "British", "British", "British", "British", "British", "British", "British",
                           "Polish", "Irish", "Indian", "Pakistani", "Chinese", "Italian", "Romanian", "Nigerian"])


def person_ids(seed: int, keys: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Opaque officer/owner ids of person keys."""
    return np.char.add("P", hash_hex(seed, "person-id", keys, 10))


def person_names(seed: int, keys: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Full names (first, optional middle, last) of person keys."""
    keys = np.asarray(keys, dtype=np.int64)
    first = FIRST[(hash_uniform(seed, "first-name", keys) * len(FIRST)).astype(int)]
    middle = MIDDLE[(hash_uniform(seed, "middle-name", keys) * len(MIDDLE)).astype(int)]
    last = LAST[(hash_uniform(seed, "last-name", keys) * len(LAST)).astype(int)]
    with_middle = np.char.add(np.char.add(first, " "), np.char.add(middle, " "))
    given = np.where(middle == "", np.char.add(first, " "), with_middle)
    return np.char.add(given, last)


def birth_years(seed: int, keys: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Birth years 1940-1994: directors are adults at appointment (appointments start in the 2010s for most)."""
    return (1940 + hash_uniform(seed, "birth-year", keys) * 55).astype(np.int64)


def nationalities(seed: int, keys: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Nationality, independent of everything else about the person (a protected characteristic)."""
    return _NATIONALITIES[(hash_uniform(seed, "nationality", keys) * len(_NATIONALITIES)).astype(int)]


def countries_of_residence(seed: int, keys: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Country of residence: almost always the United Kingdom."""
    u = hash_uniform(seed, "residence", keys)
    return np.select([u < 0.93, u < 0.97, u < 0.985], ["United Kingdom", "Scotland", "Ireland"], "Spain")
