"""Embedded name, street and place lists for the synthetic population.

Lists are in rough order of frequency in England and Wales; the generator
weights them by rank (Zipf-like), so the first names are the most common.
"""

from __future__ import annotations

BOYS = """Oliver George Noah Arthur Harry Leo Muhammad Jack Charlie Oscar Jacob Henry Thomas
Freddie Alfie Theo William Theodore Archie Joshua Alexander James Isaac Edward Lucas Tommy
Finley Max Logan Ethan Mohammed Teddy Benjamin Arlo Joseph Sebastian Harrison Elijah Adam
Daniel Samuel Louie Mason Reuben Albie Rory Jude Hugo Toby Dylan Jaxon Ronnie Albert Zachary
Caleb Hunter Roman Frankie Louis Ezra Jenson Harvey Reggie Carter Riley Luca Ollie Jayden Frederick
Hudson Tobias Michael David Elliot Bobby Chester Dexter Grayson Jasper Stanley Ellis Liam Felix
Luke Kai Alfred Austin Rowan Otis Ryan Nathan Jesse Billy Gabriel Matthew Ralph Kian Aaron
Blake Mateo Musa Ibrahim Jamie Robert Patrick Ayaan Christopher Connor Kayden Nathaniel Zain
Ali Omar Yusuf Harley Sonny Alex Callum Cameron Lewis Tyler Kieran Declan Seán Rhys Owen Dafydd
Gethin Iwan Cian Oisín Eoin Niall Ciarán Aidan Brandon Jordan Bradley Ashton Aarav Arjun Rohan
Dev Vihaan Kacper Jakub Szymon Filip Mikołaj Mateusz Aleksander Andrei Luka Marco Mario José
Rafael Hamza Bilal Idris Ismail Zayn Tariq Kwame Kofi Tobi Chidi Emeka Tunde Dominic Ewan Fraser
Angus Hamish Struan Lachlan Finn Ivo Jean-Luc John-Paul Paul Mark Andrew Stephen Peter Simon
Richard Anthony Kevin Gary Darren Wayne Lee Craig Shaun Dean Jason Carl Neil Ian Martin Steven
Christian Benedict Rupert Gregory Francis Vincent Leon Miles Nico Bruno Enzo Aurelio Ruben""".split()

GIRLS = """Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace
Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda
Maya Sophie Alice Emilia Isabelle Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Eliza
Ada Violet Esme Arabella Imogen Jessica Delilah Thea Layla Mabel Nancy Lottie Orla Lucy Lyla
Erin Scarlett Robyn Bella Holly Georgia Hannah Ellie Maryam Zara Nova Clara Iris Emma Hazel
Harriet Aurora Zoë Chloé Renée Anaïs Élodie Niamh Siobhán Aoife Saoirse Caoimhe Róisín Ffion
Seren Cerys Megan Bethan Nia Eleri Catrin Gwen Katherine Elizabeth Margaret Victoria Rebecca
Rachel Sarah Laura Jennifer Nicola Samantha Natalie Kelly Claire Emma-Louise Lisa Michelle
Joanne Amanda Helen Louise Karen Julie Susan Deborah Tracey Donna Dawn Angela Caroline Jane
Anne-Marie Mary-Jane Abigail Amber Leah Paige Chelsea Jade Courtney Shannon Bethany Aisha Fatima
Amira Hafsa Khadija Zainab Safiya Noor Inaya Anaya Priya Aanya Diya Saanvi Kavya Zofia Zuzanna
Julia Maja Lena Hanna Amelie Elena Alina Daria Adaeze Chioma Ngozi Amara Zuri Ayla Elif Yasmin
Leila Amina Rose Beatrice Edith Martha Annabelle Heidi Felicity Georgina Molly Jasmine Summer
Skye Lexi Tilly Ivie Nell Winifred Agnes Dorothy Marnie Frankie Darcie Ophelia Cora Octavia""".split()

# Rank order roughly follows the most common surnames in England and Wales.
SURNAMES = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood
Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson
Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins
Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott
Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer
Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees
Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods
Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy
Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns
Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates
Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill
Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson
Rahman Miah Islam Uddin Akhtar Mahmood Iqbal Hassan Mohamed Sharma Kumar Mistry Chauhan Nowak
Kowalski Wiśniewski Kowalczyk Dąbrowski Popescu Ionescu Silva Santos Costa Ferreira Rossi Bianchi
Okafor Adeyemi Okonkwo Mensah Boateng Osei Nguyen Tran Chen Wang Li Zhang Yilmaz Demir Kaya
Smith-Jones Taylor-Brown Lloyd-Williams Bowes-Lyon Baker-Smith Hughes-Davies Clarke-Evans
D'Souza D'Arcy O'Reilly O'Sullivan O'Donnell McKenzie MacLeod MacDonald McLaughlin McGregor
Müller Schäfer Jäger Núñez Peña López García Martínez Fernández Rodríguez Gonçalves Björk
Ashworth Kershaw Sykes Greenwood Ackroyd Haigh Lockwood Hirst Crowther Stansfield Holroyd Firth
Whiteley Pickles Sugden Barraclough Brearley Mitchinson Cartwright Fairclough Entwistle""".split()

MIDDLE_NAMES = BOYS[:60] + GIRLS[:60] + ["Mae", "Rose", "Grace", "Jane", "John", "James", "Marie", "Louise"]

STREETS = """Station Church Park Victoria Green Manor Mill School Queens Kings Grange Highfield
Springfield Windsor Albert Alexandra York Chapel Meadow Beech Oak Elm Ash Willow Cedar Birch
Hawthorn Holly Laurel Maple Rowan Chestnut Poplar Sycamore Lime Orchard Cherry Bridge Castle
Market Fore Back Moor Hill Valley Brook Riverside Canal Wharf Forge Bank Cross North South
East West Clarence Stanley Gladstone Nelson Wellington Cromwell Milton Shakespeare Byron Chaucer
Tennyson Wordsworth Dickens Brontë St John's St Mary's St Peter's St Andrew's Trinity Abbey Priory
Westfield Eastfield Northfield Fairfield Broadway Coronation Jubilee Festival Sandringham
Balmoral Kensington Belgrave Carlton Grosvenor Cavendish Devonshire Rutland Lancaster Stafford
Derby Leicester Warwick Kenilworth Ripon Harrogate Skipton Otley Ilkley Whitby Scarborough Filey
Pennine Dale Fell Heath Common Lea Croft Garth Holme Ing Carr Royd Thorpe Hollin Shaw Clough""".split()
# St John's etc. were split above; rejoin saints and keep the list flat.
STREETS = [s for s in " ".join(STREETS).replace("St ", "St_").split()]
STREETS = [s.replace("St_", "St ") for s in STREETS]

STREET_TYPES = ["Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent",
                "Grove", "Gardens", "Place", "Court", "Terrace", "Walk", "Rise", "View"]

# Demo districts: (town, outward code, sector digits).
DISTRICTS = [
    ("Leeds", "LS6", "1234"), ("Leeds", "LS7", "1234"), ("Leeds", "LS8", "12345"),
    ("Leeds", "LS11", "05678"), ("Leeds", "LS12", "12345"), ("Pudsey", "LS28", "56789"),
    ("Morley", "LS27", "07389"), ("Otley", "LS21", "123"), ("Wetherby", "LS22", "4567"),
    ("Garforth", "LS25", "12"),
]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

RELATIONSHIPS_ADULT = [("Mother", True), ("Father", True), ("Carer", False),
                       ("Step-parent", False), ("Grandparent", False), ("Foster Carer", False)]
