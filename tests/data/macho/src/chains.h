/* SPDX-License-Identifier: MIT */
#ifndef CHAINS_H
#define CHAINS_H

unsigned twice_util(unsigned x);

#endif
